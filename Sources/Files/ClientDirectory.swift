#if canImport(Glibc)
import Glibc
#endif

/// Creating the output directories clients name (`return.png`, patch folders), confined like
/// `AtomicFile`'s writes.
///
/// Why not `FileManager.createDirectory`: it walks the path by name, so a directory swapped for
/// a link to outside the workspace root between the request's path check and the walk creates
/// directories out there. Here the deepest existing ancestor is opened and checked on its
/// descriptor (`Confinement`), and each missing level is made and opened relative to its
/// parent's descriptor without following links.
public enum ClientDirectory {
    /// Why a directory could not be made: the path and the system's reason.
    public struct CreateError: Error, CustomStringConvertible, Sendable {
        public let path: String
        public let reason: String
        public var description: String { "\(path): \(reason)" }
    }

    /// Makes `path` (absolute) and its missing parents; succeeds when it already is a directory.
    public static func create(_ path: String) throws {
        let components = path.split(separator: "/").map(String.init)
        // The deepest ancestor (or the path itself) that exists now.
        var existing = components.count
        while existing > 0 {
            var st = stat()
            if stat("/" + components.prefix(existing).joined(separator: "/"), &st) == 0 { break }
            existing -= 1
        }
        let start = "/" + components.prefix(existing).joined(separator: "/")
        var fd = open(start, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw CreateError(path: path, reason: "cannot open \(start): \(String(cString: strerror(errno)))") }
        guard Confinement.holds(fd) else {
            close(fd)
            throw CreateError(path: path, reason: "\(start) resolves outside the workspace root")
        }
        defer { close(fd) }
        for name in components.dropFirst(existing) {
            if mkdirat(fd, name, 0o755) != 0 && errno != EEXIST {
                throw CreateError(path: path, reason: "cannot create \(name): \(String(cString: strerror(errno)))")
            }
            let next = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard next >= 0 else {
                throw CreateError(path: path, reason: "\(name) is not a directory (or was replaced by a link): \(String(cString: strerror(errno)))")
            }
            // A child of a directory inside the root, opened without following a link: inside too.
            close(fd)
            fd = next
        }
    }
}
