import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Starting advlensd: finding the binary, and a detached spawn (own session, stdin from
/// /dev/null, output to a log file, working directory /, no inherited descriptors).
enum Spawn {
    /// `$ADVLENSD`, else `advlensd` beside this executable, else the first on `PATH`.
    static func locateDaemon() throws -> String {
        let env = ProcessInfo.processInfo.environment
        if let explicit = env["ADVLENSD"], !explicit.isEmpty {
            guard FileManager.default.isExecutableFile(atPath: explicit) else {
                throw ClientError.unreachable("ADVLENSD=\(explicit) is not an executable file")
            }
            return explicit
        }
        var besides: [String] = []
        if let me = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            besides.append((me as NSString).deletingLastPathComponent)
        }
        if let url = Bundle.main.executableURL?.resolvingSymlinksInPath() {
            besides.append(url.deletingLastPathComponent().path)
        }
        for dir in besides + (env["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":").map(String.init) where !dir.isEmpty {
            let candidate = dir + "/advlensd"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw ClientError.unreachable("cannot find advlensd: not beside advlens, not on PATH (set ADVLENSD to its path)")
    }

    private typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    /// glibc's POSIX_SPAWN_SETSID (a GNU extension Swift's Glibc module does not import).
    private static let setsidFlag: Int32 = 0x80

    /// Starts `executable` detached and returns its pid. The log is appended to.
    static func detached(_ executable: String, arguments: [String], log: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // GNU extensions, looked up at run time: glibc 2.29+ / 2.34+ have them.
        if let f = dlsym(nil, "posix_spawn_file_actions_addchdir_np") {
            _ = unsafeBitCast(f, to: AddChdir.self)(&actions, "/")
        }
        if let f = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") {
            _ = unsafeBitCast(f, to: AddCloseFrom.self)(&actions, 3)
        } else {
            markDescriptorsCloseOnExec()
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // A new session (Ctrl-C in this terminal never reaches the daemon), default signal
        // handling (this process ignores SIGPIPE and catches SIGINT) and nothing blocked.
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for s in [SIGINT, SIGPIPE, SIGTERM, SIGHUP, SIGQUIT] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setflags(&attributes, Int16(setsidFlag | Int32(POSIX_SPAWN_SETSIGDEF) | Int32(POSIX_SPAWN_SETSIGMASK)))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid = pid_t()
        let rc = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        guard rc == 0 else { throw ClientError.unreachable("cannot start \(executable): \(String(cString: strerror(rc)))") }
        return pid
    }

    /// Fallback when posix_spawn cannot close descriptors itself.
    private static func markDescriptorsCloseOnExec() {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return }
        for name in names {
            if let fd = Int32(name), fd > 2 { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        }
    }
}
