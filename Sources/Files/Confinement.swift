#if canImport(Glibc)
import Glibc
#endif

/// The directory every client file must stay inside (the request's workspace root), checked on
/// what was actually opened rather than on the path beforehand: a directory swapped for a
/// symbolic link between a check and the use cannot lead a read or a write outside. A daemon
/// request sets it with `withValue`; nil (tests, tools) confines nothing.
public enum Confinement {
    @TaskLocal public static var root: String?

    /// The real path of an open descriptor (what it refers to now), from /proc/self/fd.
    static func realPath(of fd: Int32) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/fd/\(fd)", &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        buffer[n] = 0
        return String(cString: buffer)
    }

    /// The root with its symbolic links resolved.
    static func realRoot(_ root: String) -> String {
        guard let p = realpath(root, nil) else { return root }
        defer { free(p) }
        return String(cString: p)
    }

    /// Whether `fd` refers to something inside the current root (always true without one).
    static func holds(_ fd: Int32) -> Bool {
        guard let root = Confinement.root else { return true }
        guard let real = realPath(of: fd) else { return false }
        let base = realRoot(root)
        return real == base || real.hasPrefix(base.hasSuffix("/") ? base : base + "/")
    }
}
