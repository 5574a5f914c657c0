import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where the per-user daemon lives: its socket and, beside it, the pid file, the log and
/// the lock that keeps two clients from starting two daemons.
///
/// The socket is `--socket PATH`, else `$ADVLENS_SOCKET`, else
/// `$XDG_RUNTIME_DIR/advlens/daemon.sock`, else `/tmp/advlens-$UID/daemon.sock`. A default
/// directory is created with mode 0700 and must belong to the user (a directory someone else
/// planted in /tmp is refused).
struct DaemonPaths {
    let socket: String

    /// The socket path without a ".sock" suffix: the stem of the files beside it.
    private var stem: String { socket.hasSuffix(".sock") ? String(socket.dropLast(5)) : socket }
    var pidFile: String { stem + ".pid" }
    var logFile: String { stem + ".log" }
    var lockFile: String { stem + ".lock" }
    var directory: String { (socket as NSString).deletingLastPathComponent }

    static func resolve(option: String?) throws -> DaemonPaths {
        let env = ProcessInfo.processInfo.environment
        if let given = option ?? env["ADVLENS_SOCKET"].flatMap({ $0.isEmpty ? nil : $0 }) {
            let absolute = given.hasPrefix("/") ? given : FileManager.default.currentDirectoryPath + "/" + given
            let paths = DaemonPaths(socket: URL(fileURLWithPath: absolute).standardizedFileURL.path)
            try paths.checkLength()
            try makeDirectory(paths.directory, mustBePrivate: false)
            return paths
        }
        let base: String
        if let runtime = env["XDG_RUNTIME_DIR"], !runtime.isEmpty, isDirectory(runtime) {
            base = runtime + "/advlens"
        } else {
            base = "/tmp/advlens-\(getuid())"
        }
        let paths = DaemonPaths(socket: base + "/daemon.sock")
        try paths.checkLength()
        try makeDirectory(base, mustBePrivate: true)
        return paths
    }

    /// A Unix socket path must fit sockaddr_un's 108 bytes (with its terminating zero).
    func checkLength() throws {
        guard socket.utf8.count < 108 else {
            throw ClientError.unreachable("the socket path is \(socket.utf8.count) bytes; Unix sockets allow 107 (choose a shorter --socket or ADVLENS_SOCKET): \(socket)")
        }
    }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFDIR
    }

    /// Creates `path` (and missing parents) with mode 0700. A private directory must be a real
    /// directory (not a link) owned by this user; its mode is narrowed to 0700 if wider.
    static func makeDirectory(_ path: String, mustBePrivate: Bool) throws {
        var st = stat()
        if lstat(path, &st) != 0 {
            do {
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                        attributes: [.posixPermissions: 0o700])
            } catch {
                throw ClientError.unreachable("cannot create the socket directory \(path): \(error.localizedDescription)")
            }
            guard lstat(path, &st) == 0 else { throw ClientError.unreachable("cannot create the socket directory \(path)") }
        }
        guard mustBePrivate else { return }
        guard st.st_mode & S_IFMT == S_IFDIR else {
            throw ClientError.unreachable("\(path) exists and is not a directory; refusing to put the daemon's socket there")
        }
        guard st.st_uid == getuid() else {
            throw ClientError.unreachable("\(path) belongs to another user; refusing to use it (set ADVLENS_SOCKET or --socket)")
        }
        if st.st_mode & 0o077 != 0 { chmod(path, 0o700) }
    }
}
