import Foundation
import RPC
#if canImport(Glibc)
import Glibc
#endif

/// The shared daemon's life: finding it, starting it on demand, its pid, stopping it.
enum DaemonControl {
    /// Seconds a started daemon waits without clients before it exits
    /// (`ADVLENS_IDLE_TIMEOUT` overrides; 0 keeps it forever).
    static var defaultIdleTimeout: Double {
        ProcessInfo.processInfo.environment["ADVLENS_IDLE_TIMEOUT"].flatMap(Double.init) ?? 900
    }

    /// How long to wait for a started daemon to answer.
    static let startTimeout = 10.0

    /// Makes sure a daemon answers on the socket; returns the pid of one it started (nil when
    /// one was already running).
    @discardableResult
    static func ensureRunning(_ paths: DaemonPaths, idleTimeout: Double? = nil) throws -> pid_t? {
        if UnixSocketServer.isServing(path: paths.socket) { return nil }
        // One starter at a time: a second client waits here, then finds the first one's daemon.
        let lock = try Lock(paths.lockFile, timeout: startTimeout + 5)
        defer { lock.release() }
        if UnixSocketServer.isServing(path: paths.socket) { return nil }

        let executable = try Spawn.locateDaemon()
        rotateLog(paths.logFile)
        let idle = idleTimeout ?? defaultIdleTimeout
        let pid = try Spawn.detached(executable, arguments: ["--listen", "unix:" + paths.socket, "--idle-timeout", Format.fixed(idle, 0)],
                                     log: paths.logFile)
        try? "\(pid)\n".write(toFile: paths.pidFile, atomically: true, encoding: .utf8)

        let deadline = Date(timeIntervalSinceNow: startTimeout)
        while Date() < deadline {
            if UnixSocketServer.isServing(path: paths.socket) { return pid }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                try? FileManager.default.removeItem(atPath: paths.pidFile)
                throw ClientError.unreachable("advlensd exited during start-up (status \(status >> 8)); its log \(paths.logFile) ends:\n\(logTail(paths.logFile))")
            }
            usleep(10_000)
        }
        kill(pid, SIGTERM)
        try? FileManager.default.removeItem(atPath: paths.pidFile)
        throw ClientError.unreachable("advlensd did not answer on \(paths.socket) within \(Int(startTimeout)) s; its log \(paths.logFile) ends:\n\(logTail(paths.logFile))")
    }

    /// Keeps the previous daemon's log as `.log.1` (the one before that is dropped).
    static func rotateLog(_ path: String) {
        guard FileManager.default.fileExists(atPath: path) else { return }
        _ = rename(path, path + ".1")
    }

    static func logTail(_ path: String, lines: Int = 8) -> String {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return "  (no log)" }
        return text.split(separator: "\n").suffix(lines).map { "  " + $0 }.joined(separator: "\n")
    }

    // MARK: pid and uptime

    /// The pid of the process serving the socket: asked of the kernel (SO_PEERCRED), which
    /// holds even when the daemon was started by hand; else the pid file, if that process lives.
    static func daemonPID(_ paths: DaemonPaths) -> pid_t? {
        if let fd = try? UnixSocketServer.connect(path: paths.socket) {
            defer { close(fd) }
            var cred: (pid: Int32, uid: UInt32, gid: UInt32) = (0, 0, 0)   // struct ucred
            var length = socklen_t(MemoryLayout.size(ofValue: cred))
            if getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &length) == 0, cred.pid > 0 { return cred.pid }
        }
        if let text = try? String(contentsOfFile: paths.pidFile, encoding: .utf8), let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)),
           isAlive(pid), isDaemon(pid, for: paths) {
            return pid
        }
        return nil
    }

    /// Whether `pid` is an advlensd listening on this socket (its command line says so), so a
    /// stale pid file naming a recycled pid never gets another process signalled.
    static func isDaemon(_ pid: pid_t, for paths: DaemonPaths) -> Bool {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
        let arguments = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        return arguments.contains("unix:" + paths.socket)
    }

    /// Whether `pid` is a live process (a zombie waiting for its parent counts as gone).
    static func isAlive(_ pid: pid_t) -> Bool {
        guard kill(pid, 0) == 0 || errno == EPERM else { return false }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return true }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.first != "Z" && fields.first != "X"
    }

    /// Seconds since `pid` started (from /proc), or nil.
    static func uptime(_ pid: pid_t) -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")"),
              let system = try? String(contentsOfFile: "/proc/uptime", encoding: .utf8),
              let since = system.split(separator: " ").first.flatMap({ Double($0) }) else { return nil }
        // Fields after the command name start at field 3 (state); starttime is field 22.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 19, let ticks = Double(fields[19]) else { return nil }
        return max(0, since - ticks / Double(sysconf(Int32(_SC_CLK_TCK))))
    }

    // MARK: stopping

    enum StopOutcome { case notRunning, stopped(pid_t), killed(pid_t) }

    /// How long `stop` waits after SIGTERM: the daemon gives running requests 5 s to finish
    /// (its --drain-timeout), then cancels them and gives their partial results 5 s more.
    static let stopTimeout = 20.0

    /// SIGTERM to the daemon, then wait (`stopTimeout`) until it is gone and its socket no
    /// longer answers; SIGKILL if it lingers. Removes the pid file and a socket file left behind.
    static func stop(_ paths: DaemonPaths) throws -> StopOutcome {
        guard let pid = daemonPID(paths) else {
            if UnixSocketServer.isServing(path: paths.socket) {
                throw ClientError.failed("something answers on \(paths.socket) but its pid is unknown; not stopping it")
            }
            cleanUp(paths)
            return .notRunning
        }
        guard kill(pid, SIGTERM) == 0 else {
            throw ClientError.failed("cannot signal advlensd (pid \(pid)): \(String(cString: strerror(errno)))")
        }
        if waitGone(pid, paths, timeout: stopTimeout) {
            cleanUp(paths)
            return .stopped(pid)
        }
        kill(pid, SIGKILL)
        guard waitGone(pid, paths, timeout: 3) else {
            throw ClientError.failed("advlensd (pid \(pid)) did not stop after SIGTERM and SIGKILL")
        }
        cleanUp(paths)
        return .killed(pid)
    }

    private static func waitGone(_ pid: pid_t, _ paths: DaemonPaths, timeout: Double) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        while Date() < deadline {
            if !isAlive(pid) && !UnixSocketServer.isServing(path: paths.socket) { return true }
            usleep(10_000)
        }
        return false
    }

    /// Removes the pid file, and the socket file if nothing answers on it.
    private static func cleanUp(_ paths: DaemonPaths) {
        try? FileManager.default.removeItem(atPath: paths.pidFile)
        var st = stat()
        if lstat(paths.socket, &st) == 0, st.st_mode & S_IFMT == S_IFSOCK, !UnixSocketServer.isServing(path: paths.socket) {
            unlink(paths.socket)
        }
    }
}

/// An exclusive flock on a file, taken with a bounded wait.
struct Lock {
    private let fd: Int32

    init(_ path: String, timeout: Double) throws {
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ClientError.unreachable("cannot open the lock file \(path): \(String(cString: strerror(errno)))") }
        let deadline = Date(timeIntervalSinceNow: timeout)
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard Date() < deadline else {
                close(fd)
                throw ClientError.unreachable("another advlens has been starting the daemon for \(Int(timeout)) s (lock \(path))")
            }
            usleep(20_000)
        }
    }

    func release() {
        flock(fd, LOCK_UN)
        close(fd)
    }
}
