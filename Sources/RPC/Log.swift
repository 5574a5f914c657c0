import Foundation
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Levelled logging to stderr, never to the protocol stream.
///
/// One line per call, written with a single `write(2)` so lines from several threads do not
/// interleave: `2025-01-31T12:00:00.123Z advlensd[4242] warning: message`. Messages are
/// autoclosures, so a disabled level costs one comparison on the hot path.
public enum Log {
    public enum Level: Int, Sendable, Comparable, CaseIterable, CustomStringConvertible {
        case error = 0, warning, info, debug, trace

        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }
        public var description: String { ["error", "warning", "info", "debug", "trace"][rawValue] }

        /// Parses "error", "warning"/"warn", "info", "debug", "trace" (for `--log-level`).
        public init?(name: String) {
            switch name.lowercased() {
            case "error": self = .error
            case "warning", "warn": self = .warning
            case "info": self = .info
            case "debug": self = .debug
            case "trace": self = .trace
            default: return nil
            }
        }
    }

    /// Messages above this level are dropped. Set once at start-up (reads are unsynchronised).
    nonisolated(unsafe) public static var level: Level = .info
    /// The program name in each line.
    nonisolated(unsafe) public static var label = "advlensd"
    /// Where lines go; stderr unless a test redirects it.
    nonisolated(unsafe) public static var fd: Int32 = 2

    @inline(__always) public static func enabled(_ l: Level) -> Bool { l <= level }

    public static func error(_ message: @autoclosure () -> String) { log(.error, message) }
    public static func warning(_ message: @autoclosure () -> String) { log(.warning, message) }
    public static func info(_ message: @autoclosure () -> String) { log(.info, message) }
    public static func debug(_ message: @autoclosure () -> String) { log(.debug, message) }
    public static func trace(_ message: @autoclosure () -> String) { log(.trace, message) }

    @inline(__always) static func log(_ l: Level, _ message: () -> String) {
        guard l <= level else { return }
        write(l, message())
    }

    static func write(_ l: Level, _ message: String) {
        var tv = timeval()
        gettimeofday(&tv, nil)
        var t = tm()
        var secs = tv.tv_sec
        gmtime_r(&secs, &t)
        let stamp = String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday,
                           t.tm_hour, t.tm_min, t.tm_sec, Int32(tv.tv_usec / 1000))
        var line = Array("\(stamp) \(label)[\(getpid())] \(l): \(message)\n".utf8)
        line.withUnsafeMutableBytes { b in _ = FDIO.writeAll(fd, UnsafeRawBufferPointer(b)) }
    }
}

/// Keeping the protocol stream clean of stray output.
public enum StdoutGuard {
    /// Duplicates the real stdout for the protocol and points fd 1 at stderr, so a stray
    /// `print` (ours or a library's) lands in the log instead of corrupting a frame. Call once
    /// at start-up, before any thread writes; returns the protocol fd (close-on-exec, so
    /// children do not inherit it).
    public static func redirect() throws -> Int32 {
        fflush(stdout)
        let fd = fcntl(1, F_DUPFD_CLOEXEC, 3)
        guard fd >= 0 else { throw SystemCallError("cannot duplicate stdout: \(String(cString: strerror(errno)))") }
        guard dup2(2, 1) >= 0 else {
            close(fd)
            throw SystemCallError("cannot point stdout at stderr: \(String(cString: strerror(errno)))")
        }
        return fd
    }
}
