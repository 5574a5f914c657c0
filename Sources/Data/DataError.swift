/// The errors the dataset loaders throw. Messages name the file and, for text formats, the
/// line and column, so a bad file can be found and fixed.
public enum DataError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A file could not be opened, read, decompressed or written.
    case io(path: String, reason: String)
    /// A CSV value or row is wrong; `line` and `column` count from 1 (column = field number).
    case csv(path: String, line: Int, column: Int, reason: String)
    /// A binary file (IDX, NPY) is malformed or holds something unsupported.
    case format(path: String, reason: String)
    /// A caller-supplied argument is out of range.
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .io(let path, let reason): return "\(path): \(reason)"
        case .csv(let path, let line, let column, let reason): return "\(path): line \(line), column \(column): \(reason)"
        case .format(let path, let reason): return "\(path): \(reason)"
        case .invalidArgument(let reason): return reason
        }
    }
}
