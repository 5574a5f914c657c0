import JSON
import Files
import Foundation

/// Resolves the paths clients name inside the workspace root, and refuses any that escape it
/// (through "..", an absolute path elsewhere, or a symbolic link pointing out).
public struct PathResolver: Sendable {
    /// The root, absolute, symbolic links resolved.
    public let root: String

    public init(root: String) {
        let absolute = root.hasPrefix("/") ? root : FileManager.default.currentDirectoryPath + "/" + root
        self.root = PathResolver.realPath(URL(fileURLWithPath: absolute).standardizedFileURL.path)
    }

    /// The real path of the longest existing prefix of `path`, with the rest appended: links
    /// that exist are followed, names still to be created are kept.
    static func realPath(_ path: String) -> String {
        var existing = path, rest: [String] = []
        while !FileManager.default.fileExists(atPath: existing) && existing != "/" {
            rest.insert((existing as NSString).lastPathComponent, at: 0)
            existing = (existing as NSString).deletingLastPathComponent
        }
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let resolved = realpath(existing, &buffer) != nil ? String(cString: buffer) : existing
        return rest.reduce(resolved) { ($0 as NSString).appendingPathComponent($1) }
    }

    /// The absolute path for a client's `path` (relative paths are relative to the root).
    /// `field` names the parameter in the error.
    public func resolve(_ path: String, field: String) throws -> String {
        guard !path.isEmpty, !path.contains("\0") else {
            throw ServerError.invalidParams("\(field): expected a non-empty path without NUL bytes")
        }
        let joined = path.hasPrefix("/") ? path : (root as NSString).appendingPathComponent(path)
        let real = PathResolver.realPath(URL(fileURLWithPath: joined).standardizedFileURL.path)
        guard real == root || real.hasPrefix(root.hasSuffix("/") ? root : root + "/") else {
            throw ServerError.outsideRoot("\(field): \(ClientText.quoted(path)) resolves outside the workspace root \(root)")
        }
        return real
    }

    /// `resolve` for a file the daemon reads or replaces (a dataset, spec, weights, image):
    /// what exists there must be a regular file. A directory, FIFO, device, socket or a
    /// symbolic link loop is refused at once (-32602, naming the field and saying what the
    /// path is), before anything could block on it or read it without end.
    public func resolveFile(_ path: String, field: String) throws -> String {
        let real = try resolve(path, field: field)
        if let problem = ClientFile.problem(at: real) {
            throw ServerError.invalidParams("\(field): \(ClientText.quoted(path)) is \(problem), not a regular file")
        }
        return real
    }
}
