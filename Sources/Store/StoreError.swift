/// What can go wrong in the store. Database errors from SQLite pass through as GRDB's
/// `DatabaseError`; these are the store's own refusals.
public enum StoreError: Error, CustomStringConvertible, Equatable {
    /// Keeping this would exceed the size cap even after evicting every cache row; the
    /// message says how much is in use and by what.
    case overCap(String)
    /// A row that does not decode (a blob of the wrong length, a malformed shape).
    case corrupt(String)
    /// The database file cannot be opened or created.
    case cannotOpen(String)
    /// A name the store does not know (a table in clear(what:)).
    case unknownTable(String)

    public var description: String {
        switch self {
        case let .overCap(s): return s
        case let .corrupt(s): return "cache database row is corrupt: \(s)"
        case let .cannotOpen(s): return s
        case let .unknownTable(s): return s
        }
    }
}
