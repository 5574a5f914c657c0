import JSON
import Files
import Foundation

/// Resolves the paths clients name. A user's own daemon takes them as the user gives them
/// (absolute, or relative to the daemon's working directory: the local clients send absolute
/// paths, resolved against their own working directory). Confinement is opt-in, for shared or
/// remote daemons: with a root (the daemon's `--root`, or the client's `initialize.rootPath`)
/// relative paths resolve inside it and any path that escapes it (through "..", an absolute
/// path elsewhere, or a symbolic link pointing out) is refused with -32013.
public struct PathResolver: Sendable {
    /// Where relative paths resolve: the root when confined, else the daemon's working
    /// directory. Absolute, symbolic links resolved.
    public let base: String
    /// The directory every path must stay inside, or nil: not confined.
    public let root: String?

    /// Confined to `root`.
    public init(root: String) {
        let real = PathResolver.absolute(root)
        self.base = real
        self.root = real
    }

    /// Not confined: relative paths against `base`.
    public init(base: String) {
        self.base = PathResolver.absolute(base)
        self.root = nil
    }

    static func absolute(_ path: String) -> String {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        return PathResolver.realPath(URL(fileURLWithPath: absolute).standardizedFileURL.path)
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

    /// The absolute path for a client's `path` (relative paths are relative to the base).
    /// `field` names the parameter in the error.
    public func resolve(_ path: String, field: String) throws -> String {
        guard !path.isEmpty, !path.contains("\0") else {
            throw ServerError.invalidParams("\(field): expected a non-empty path without NUL bytes")
        }
        let joined = path.hasPrefix("/") ? path : (base as NSString).appendingPathComponent(path)
        let real = PathResolver.realPath(URL(fileURLWithPath: joined).standardizedFileURL.path)
        guard let root else { return real }
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
