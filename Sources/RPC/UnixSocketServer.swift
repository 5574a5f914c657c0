import Foundation
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Serves the protocol on a Unix socket: one `Connection` per client, one shared handler.
///
/// Each client has its own lifecycle (initialize ... shutdown, exit); they share the worker
/// pool and the key locks, so a write to a model waits for every client's reads of it. The
/// socket file is created with mode 0600 (the umask is narrowed around bind(), then the mode
/// set explicitly), so only its owner can connect. A stale socket file (nothing answers on
/// it) is replaced; a live server there, or a path that is not a socket, is refused.
///
/// `idleTimeout`: stop when no client has been connected for that many seconds (the shell
/// client starts a daemon on demand and relies on it going away by itself).
public final class UnixSocketServer: @unchecked Sendable {
    public let path: String
    public let options: ConnectionOptions
    public let idleTimeout: Double?
    private let handler: RPCHandler
    private let scheduler: Scheduler
    private var listenFD: Int32 = -1
    private var wakePipe: (read: Int32, write: Int32) = (-1, -1)
    private let state = NSCondition()
    private var clients: [Int32: Connection] = [:]
    /// Connected clients that wait for input (no thread reads them; the accept loop polls them).
    private var watched: Set<Int32> = []
    private var stopped = false
    private var nextClient = 1
    private var lastActivity = Date()
    private var socketIdentity: (dev: UInt64, ino: UInt64) = (0, 0)
    // The accept loop's own (run()'s thread only).
    private var lastBackoff = 0.0
    /// Clients over the connection limit, waiting (briefly) for their first bytes so the
    /// refusal goes out in their framing.
    private var refusals: [(fd: Int32, deadline: Date)] = []
    private var refusedInARow = 0

    /// Binds and listens at once, so a caller knows the socket is ready when this returns.
    public init(path: String, handler: RPCHandler, options: ConnectionOptions = ConnectionOptions(), idleTimeout: Double? = nil) throws {
        self.path = path
        self.handler = handler
        self.options = options
        self.idleTimeout = idleTimeout
        self.scheduler = Scheduler(workers: options.workers)
        _ = FDIO.ignoreSIGPIPE
        do {
            try listen()
        } catch {
            scheduler.stop()
            throw error
        }
    }

    deinit {
        if listenFD >= 0 { close(listenFD) }
        if wakePipe.read >= 0 { close(wakePipe.read); close(wakePipe.write) }
    }

    /// Number of clients connected now.
    public var clientCount: Int {
        state.lock(); defer { state.unlock() }
        return clients.count
    }

    private func listen() throws {
        var addr = try SocketAddress.unix(path)
        if try SocketAddress.isLive(path) { throw SystemCallError("a server is already listening on \(path)") }
        var st = stat()
        if lstat(path, &st) == 0 {
            guard st.st_mode & S_IFMT == S_IFSOCK else { throw SystemCallError("\(path) exists and is not a socket; not replacing it") }
            unlink(path)
            Log.info("replaced stale socket \(path)")
        }
        listenFD = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard listenFD >= 0 else { throw SystemCallError("socket(): \(String(cString: strerror(errno)))") }
        let old = umask(0o177)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listenFD, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        umask(old)
        guard rc == 0 else { throw SystemCallError("bind(\(path)): \(String(cString: strerror(errno)))") }
        chmod(path, 0o600)
        guard Glibc.listen(listenFD, 64) == 0 else { throw SystemCallError("listen(): \(String(cString: strerror(errno)))") }
        if lstat(path, &st) == 0 { socketIdentity = (UInt64(st.st_dev), UInt64(st.st_ino)) }
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw SystemCallError("pipe(): \(String(cString: strerror(errno)))") }
        wakePipe = (fds[0], fds[1])
        for fd in fds {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }
        Log.debug("listening on unix:\(path)")
    }

    /// Accepts clients until `stop()` or the idle timeout; returns when every client is gone,
    /// waiting at most twice `options.drainTimeout` for their in-flight work.
    ///
    /// Out of file descriptors (EMFILE, ENFILE), accept() fails while clients keep knocking:
    /// the loop then stops polling the listening socket for a delay growing from 10 ms to 1 s,
    /// logs the condition once per episode, and the waiting clients stay in the backlog until
    /// descriptors free up. Beyond `options.maxConnections` clients a new one is refused.
    public func run() {
        var backoff = 0.0                 // seconds; 0: accepting normally
        var episodeStart = Date()
        var failedAccepts = 0
        var episodeWarned = false
        var lastFDWarning: Date? = nil
        while true {
            var fds = [pollfd(fd: wakePipe.read, events: Int16(POLLIN), revents: 0)]
            if backoff == 0 { fds.append(pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0)) }
            let refusalsAt = fds.count
            for r in refusals { fds.append(pollfd(fd: r.fd, events: Int16(POLLIN), revents: 0)) }
            let clientsAt = fds.count
            state.lock()
            for fd in watched { fds.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0)) }
            state.unlock()
            let timeout = backoff > 0 ? Int32(backoff * 1000) : (refusals.isEmpty ? 250 : 50)
            let n = poll(&fds, nfds_t(fds.count), timeout)
            state.lock()
            if stopped { state.unlock(); break }
            if let idle = idleTimeout, clients.isEmpty, -lastActivity.timeIntervalSinceNow >= idle {
                state.unlock()
                Log.info("no client for \(idle) s; stopping")
                stop()
                break
            }
            state.unlock()
            if n > 0 && fds[0].revents != 0 {
                var drain = [UInt8](repeating: 0, count: 256)
                while read(wakePipe.read, &drain, drain.count) > 0 {}
            }
            if n > 0 { serviceClients(fds[clientsAt...]) }
            serviceRefusals(fds, n, from: refusalsAt)
            if backoff > 0 {
                backoff = 0                  // poll the listening socket again; a failure doubles the delay
                continue
            }
            guard n > 0, fds[1].revents & Int16(POLLIN) != 0 else { continue }
            let fd = accept(listenFD, nil, nil)
            if fd < 0 {
                let e = errno
                guard e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM else { continue }
                failedAccepts += 1
                if failedAccepts == 1 {
                    // A new episode; warned at most once a minute, as descriptors freed by one
                    // leaving client are soon taken again by the next waiting one.
                    episodeStart = Date()
                    episodeWarned = lastFDWarning.map { -$0.timeIntervalSinceNow >= 60 } ?? true
                    var limit = rlimit()
                    getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
                    let message = "cannot accept connections: \(String(cString: strerror(e))) (\(clientCount) clients connected, open files limit \(limit.rlim_cur)); new clients wait in the backlog until descriptors free up"
                    if episodeWarned {
                        lastFDWarning = Date()
                        Log.warning(message)
                    } else {
                        Log.debug(message)
                    }
                }
                backoff = min(1, max(0.01, lastBackoff * 2))
                lastBackoff = backoff
                continue
            }
            if failedAccepts > 0 {
                let message = "accepting connections again after \(String(format: "%.1f", -episodeStart.timeIntervalSinceNow)) s (\(failedAccepts) failed accept(s))"
                if episodeWarned { Log.info(message) } else { Log.debug(message) }
                failedAccepts = 0
            }
            lastBackoff = 0
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            if clientCount >= options.maxConnections {
                refuse(fd)
            } else {
                refusedInARow = 0
                startClient(fd)
            }
        }
        refusals.forEach { close($0.fd) }
        refusals = []
        // Idle clients: nobody polls them now; read each to its end (stop() shut their input).
        state.lock()
        let idle = watched.compactMap { fd in clients[fd].map { (fd, $0) } }
        watched = []
        state.unlock()
        for (fd, connection) in idle { pump(fd, connection) }
        // Running requests get drainTimeout to finish. Then they are cancelled and answered with
        // their partial results (-32800 "request cancelled: the daemon is stopping"), for which
        // they get another drainTimeout; a handler ignoring its token is then given up on, its
        // reply dropped, and run() returns regardless.
        state.lock()
        var deadline = Date(timeIntervalSinceNow: options.drainTimeout)
        while !clients.isEmpty && state.wait(until: deadline) {}
        if !clients.isEmpty {
            Log.info("\(clients.count) client(s) still busy after \(options.drainTimeout) s; cancelling their requests")
            let busy = Array(clients.values)
            state.unlock()
            busy.forEach { $0.cancelInFlight(reason: Self.stoppingReason) }
            state.lock()
            deadline = Date(timeIntervalSinceNow: options.drainTimeout)
            while !clients.isEmpty && state.wait(until: deadline) {}
        }
        if !clients.isEmpty {
            Log.warning("\(clients.count) client(s) still busy \(options.drainTimeout) s after their requests were cancelled; leaving without their replies")
            let stuck = Array(clients.values)
            state.unlock()
            stuck.forEach { $0.abandonInFlight(reason: "server stopping") }
            state.lock()
        }
        state.unlock()
        scheduler.stop()
    }

    /// A client over `options.maxConnections`: it gets one error, in its framing once its
    /// first bytes tell it (at most 1 s wait; newline-delimited JSON otherwise), and is closed.
    private func refuse(_ fd: Int32) {
        refusedInARow += 1
        if refusedInARow == 1 {
            Log.warning("refusing new clients: \(options.maxConnections) connected, the limit (--max-connections)")
        } else {
            Log.debug("refusing a client: \(options.maxConnections) connected")
        }
        if refusals.count >= 32 {
            sendRefusal(fd, framing: .newlineDelimited)
        } else {
            refusals.append((fd, Date(timeIntervalSinceNow: 1)))
        }
    }

    /// Answers the refused clients whose first bytes arrived (or whose wait is over).
    private func serviceRefusals(_ fds: [pollfd], _ ready: Int32, from first: Int) {
        guard !refusals.isEmpty else { return }
        var keep: [(fd: Int32, deadline: Date)] = []
        for (k, r) in refusals.enumerated() {
            let revents = ready > 0 ? fds[first + k].revents : 0
            if revents != 0 {
                var buf = [UInt8](repeating: 0, count: 512)
                let n = recv(r.fd, &buf, buf.count, Int32(MSG_DONTWAIT))
                if n <= 0 { close(r.fd); continue }        // gone (or an error): nothing to tell
                if let c = buf[0..<n].first(where: { !FrameDecoder.isSpace($0) }) {
                    sendRefusal(r.fd, framing: c == UInt8(ascii: "C") || c == UInt8(ascii: "c") ? .contentLength : .newlineDelimited)
                    continue
                }
            }
            if r.deadline.timeIntervalSinceNow <= 0 {
                sendRefusal(r.fd, framing: .newlineDelimited)
            } else {
                keep.append(r)
            }
        }
        refusals = keep
    }

    private func sendRefusal(_ fd: Int32, framing: Framing) {
        let error = RPCError(code: options.connectionLimitCode,
                             message: "too many connections: the server holds at most \(options.maxConnections) clients; try again later")
        let frame = framing.frame(OutgoingMessage.error(id: nil, error))
        _ = frame.withUnsafeBytes { FDIO.writeSome(fd, .socket, $0) }
        close(fd)
    }

    /// A new client: watched by the accept loop's poll while idle, read by a short-lived
    /// thread while it has input (so an idle client costs no thread).
    private func startClient(_ fd: Int32) {
        state.lock()
        var opts = options
        opts.name = "client \(nextClient)"
        nextClient += 1
        let connection = Connection(input: fd, output: fd, handler: handler, options: opts, scheduler: scheduler)
        clients[fd] = connection
        lastActivity = Date()
        state.unlock()
        Log.debug("\(opts.name) connected")
        connection.begin()
        pump(fd, connection)
    }

    /// Clients whose sockets became readable: each is read on its own thread meanwhile.
    private func serviceClients(_ polled: ArraySlice<pollfd>) {
        for p in polled where p.revents != 0 {
            state.lock()
            let connection = clients[p.fd]
            watched.remove(p.fd)   // a number no connection owns any more is dropped too, never polled again
            state.unlock()
            if let connection { pump(p.fd, connection) }
        }
    }

    /// Reads what the client sent, on a thread of its own (immediate requests such as
    /// initialize run there); then either hands the socket back to the poll or ends the
    /// connection (its in-flight work settled) and closes it.
    private func pump(_ fd: Int32, _ connection: Connection) {
        let t = Thread { [self] in
            while connection.pump() {
                state.lock()
                if !stopped {
                    watched.insert(fd)
                    state.unlock()
                    var b: UInt8 = 1
                    _ = write(wakePipe.write, &b, 1)
                    return
                }
                state.unlock()
                // Stopping: the accept loop polls no more, and stop() shut the input down, so
                // reading goes on to the end of it here.
                var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                _ = poll(&p, 1, 1000)
            }
            _ = connection.end()
            // Forget the connection before closing its descriptor: once closed, accept() may hand
            // the same number to a new client, whose entry this must not remove (that client was
            // then never read: its requests went unanswered while poll spun on its socket).
            state.lock()
            if clients[fd] === connection { clients[fd] = nil }
            watched.remove(fd)
            lastActivity = Date()
            state.broadcast()
            state.unlock()
            close(fd)
        }
        t.stackSize = 8 << 20
        t.name = connection.options.name
        t.start()
    }

    /// Connects to a server at `path`; the returned fd is both input and output (clients, tests).
    public static func connect(path: String) throws -> Int32 { try SocketAddress.open(path) }

    /// Whether a server accepts connections at `path` (a client looking for a running daemon).
    public static func isServing(path: String) -> Bool { (try? SocketAddress.isLive(path)) ?? false }

    /// The reason cancelled requests' replies carry when the server stops.
    public static let stoppingReason = "the daemon is stopping"

    /// Stops accepting, removes the socket file, and ends each client's input so it finishes
    /// its in-flight requests and closes. `run()` then returns. Safe from any thread.
    public func stop() {
        state.lock()
        guard !stopped else { state.unlock(); return }
        stopped = true
        for fd in clients.keys { shutdown(fd, Int32(SHUT_RD)) }
        state.unlock()
        var st = stat()
        if lstat(path, &st) == 0, (UInt64(st.st_dev), UInt64(st.st_ino)) == socketIdentity { unlink(path) }
        var b: UInt8 = 1
        _ = write(wakePipe.write, &b, 1)
    }
}

/// sockaddr_un helpers.
enum SocketAddress {
    static func unix(_ path: String) throws -> sockaddr_un {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: addr.sun_path)
        guard !bytes.isEmpty, bytes.count < capacity else {
            throw SystemCallError("socket path must be 1...\(capacity - 1) bytes: \(path)")
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return addr
    }

    /// Whether a server accepts connections at `path` (used to refuse double starts, and by
    /// clients to find a running daemon).
    static func isLive(_ path: String) throws -> Bool {
        var addr = try unix(path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        return rc == 0
    }

    static func open(_ path: String) throws -> Int32 {
        var addr = try unix(path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemCallError("socket(): \(String(cString: strerror(errno)))") }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else {
            let e = errno
            close(fd)
            throw SystemCallError("connect(\(path)): \(String(cString: strerror(e)))")
        }
        return fd
    }
}
