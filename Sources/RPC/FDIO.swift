#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// The few system calls the transport makes, with EINTR and partial writes handled in one place.
enum FDIO {
    /// Writes every byte or reports failure (EPIPE: the peer is gone).
    @discardableResult
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
        guard var p = bytes.baseAddress else { return true }
        var left = bytes.count
        while left > 0 {
            let n = write(fd, p, left)
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN { waitWritable(fd); continue }
                return false
            }
            p += n
            left -= n
        }
        return true
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { writeAll(fd, $0) }
    }

    /// Reads what is available (blocking): >0 bytes, 0 at EOF, -1 on error.
    static func read(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer) -> Int {
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n < 0 && errno == EINTR { continue }
            if n < 0 && errno == EAGAIN { waitReadable(fd); continue }
            return n
        }
    }

    /// How `writeSome` may write to an fd without blocking.
    enum WriteKind {
        /// A socket: `send(MSG_DONTWAIT)`, whatever the fd's own flags (a shared fd is not changed).
        case socket
        /// A blocking pipe or FIFO: after `poll` reports room, at most `PIPE_BUF` bytes, which
        /// a pipe with any room takes without blocking.
        case pipe
        /// An fd already in non-blocking mode: plain `write`, EAGAIN when full.
        case nonBlocking
        /// A regular file, a terminal, /dev/null: plain blocking `write` (these do not stall on a peer).
        case blocking

        init(fd: Int32) {
            var st = stat()
            let flags = fcntl(fd, F_GETFL)
            if fstat(fd, &st) == 0 && st.st_mode & S_IFMT == S_IFSOCK { self = .socket }
            else if flags >= 0 && flags & O_NONBLOCK != 0 { self = .nonBlocking }
            else if fstat(fd, &st) == 0 && st.st_mode & S_IFMT == S_IFIFO { self = .pipe }
            else { self = .blocking }
        }
    }

    /// Writes what the fd takes now without blocking (`.blocking` fds excepted): the number of
    /// bytes written (0 when it would block), or -1 when the fd is broken (errno says why).
    static func writeSome(_ fd: Int32, _ kind: WriteKind, _ bytes: UnsafeRawBufferPointer) -> Int {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return 0 }
        while true {
            let n: Int
            switch kind {
            case .socket:
                n = send(fd, base, bytes.count, Int32(MSG_DONTWAIT) | Int32(MSG_NOSIGNAL))
            case .pipe:
                var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                let r = poll(&p, 1, 0)
                if r < 0 && errno == EINTR { continue }
                if r == 0 { return 0 }     // full; with POLLERR (no reader) the write reports EPIPE
                n = write(fd, base, min(bytes.count, Int(PIPE_BUF)))
            case .nonBlocking, .blocking:
                n = write(fd, base, bytes.count)
            }
            if n >= 0 { return n }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK { return 0 }
            return -1
        }
    }

    /// Waits until `fd` can take bytes (or is broken) for at most `seconds`.
    static func waitWritable(_ fd: Int32, seconds: Double) {
        var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        _ = poll(&p, 1, Int32(max(1, min(seconds, 60) * 1000)))
    }

    /// Reads what a socket has now without blocking: >0 bytes, 0 at EOF, -1 on error, -2 when
    /// nothing is there yet.
    static func readNow(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer) -> Int {
        while true {
            let n = recv(fd, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT))
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return -2 }
            return n
        }
    }

    static func waitWritable(_ fd: Int32) {
        var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        _ = poll(&p, 1, 1000)
    }

    static func waitReadable(_ fd: Int32) {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        _ = poll(&p, 1, 1000)
    }

    /// Whether writing to `fd` can no longer reach anyone: a pipe whose reader closed shows
    /// POLLERR, a socket whose peer closed shows POLLHUP. A full buffer is not broken.
    static func isBroken(_ fd: Int32) -> Bool {
        var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        let n = poll(&p, 1, 0)
        guard n > 0 else { return false }
        return p.revents & Int16(POLLERR | POLLHUP | POLLNVAL) != 0
    }

    /// Ignore SIGPIPE once per process: a vanished peer must show up as EPIPE, not kill the daemon.
    static let ignoreSIGPIPE: Void = { signal(SIGPIPE, SIG_IGN); return () }()
}
