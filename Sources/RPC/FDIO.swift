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
