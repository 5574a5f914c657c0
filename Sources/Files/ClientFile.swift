/// Reading the files clients name, safely: only regular files (a FIFO, device, socket or
/// directory is refused at once, before any read could block or run forever), never more
/// bytes than a limit (checked while reading, so a file that grows or a device that never
/// ends stops there), and in chunks between which the caller's `shouldStop` is asked.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How much a read may take and when to give up.
public struct ReadLimits: Sendable {
    /// The most bytes a file may hold (for compressed files: the most it may inflate to).
    public var maxBytes: Int
    /// Asked between chunks; true stops the read with `FileReadError.cancelled`.
    public var shouldStop: @Sendable () -> Bool

    /// 8 GiB: far above any dataset or weights file the daemon works with, far below what
    /// would exhaust memory through a gzip bomb or a device that never ends.
    public static let defaultMaxBytes = 8 << 30

    public init(maxBytes: Int = ReadLimits.defaultMaxBytes, shouldStop: @escaping @Sendable () -> Bool = { false }) {
        self.maxBytes = maxBytes
        self.shouldStop = shouldStop
    }

    /// The limits of the work under way on this thread (a daemon request sets its own with
    /// `withValue`), else the default limit without cancellation.
    @TaskLocal public static var current = ReadLimits()
}

/// Why a client file was not read.
public enum FileReadError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The path names something other than a regular file (`kind` says what).
    case notRegularFile(path: String, kind: String)
    /// What was opened lies outside the workspace root (a directory swapped for a link after
    /// the path was checked).
    case outsideRoot(path: String)
    /// The file (or what it inflates to) exceeds the limit.
    case tooLarge(path: String, limit: Int)
    /// `shouldStop` answered true part-way.
    case cancelled(path: String)
    /// The system refused (open, read), with its reason.
    case io(path: String, reason: String)

    public var description: String {
        switch self {
        case let .notRegularFile(path, kind): return "\(path): \(kind), not a regular file"
        case let .tooLarge(path, limit): return "\(path): larger than the \(ClientFile.describe(bytes: limit)) a file may hold (advlensd --max-file-bytes)"
        case let .cancelled(path): return "\(path): reading was cancelled"
        case let .outsideRoot(path): return "\(path): resolves outside the workspace root"
        case let .io(path, reason): return "\(path): \(reason)"
        }
    }
}

public enum ClientFile {
    /// What the node at `path` is when it is no regular file, following symbolic links
    /// ("a directory", "a FIFO (named pipe)", "a symbolic link loop", ...), or nil for a
    /// regular file or a path that does not exist.
    public static func problem(at path: String) -> String? {
        var st = stat()
        if stat(path, &st) != 0 {
            if errno == ELOOP { return "a symbolic link loop (too many levels of symbolic links)" }
            return nil
        }
        return kind(st.st_mode)
    }

    static func kind(_ mode: mode_t) -> String? {
        switch mode & S_IFMT {
        case S_IFREG: return nil
        case S_IFDIR: return "a directory"
        case S_IFIFO: return "a FIFO (named pipe)"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFSOCK: return "a socket"
        default: return "a special file"
        }
    }

    /// Opens `path` for reading if it is a regular file, without blocking on a FIFO (opened
    /// non-blocking, checked with fstat, then set blocking). Returns the descriptor and size.
    public static func openRegular(_ path: String, limits: ReadLimits = .current) throws -> (fd: Int32, size: Int) {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
        guard fd >= 0 else {
            let reason = errno == ELOOP ? "a symbolic link loop (too many levels of symbolic links)" : String(cString: strerror(errno))
            throw FileReadError.io(path: path, reason: "cannot open: \(reason)")
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw FileReadError.io(path: path, reason: "cannot stat: \(reason)")
        }
        if let kind = kind(st.st_mode) {
            close(fd)
            throw FileReadError.notRegularFile(path: path, kind: kind)
        }
        guard Confinement.holds(fd) else {
            close(fd)
            throw FileReadError.outsideRoot(path: path)
        }
        guard Int(st.st_size) <= limits.maxBytes else {
            close(fd)
            throw FileReadError.tooLarge(path: path, limit: limits.maxBytes)
        }
        let flags = fcntl(fd, F_GETFL)
        if flags >= 0 { _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) }
        return (fd, Int(st.st_size))
    }

    /// The whole of a regular file, read in chunks within `limits`.
    public static func read(_ path: String, limits: ReadLimits = .current) throws -> [UInt8] {
        let (fd, size) = try openRegular(path, limits: limits)
        defer { close(fd) }
        var out = [UInt8]()
        out.reserveCapacity(size)
        let chunk = 1 << 22
        var buffer = [UInt8](repeating: 0, count: chunk)
        while true {
            if limits.shouldStop() { throw FileReadError.cancelled(path: path) }
            let n = buffer.withUnsafeMutableBytes { Glibc_read(fd, $0.baseAddress!, chunk) }
            if n < 0 {
                if errno == EINTR { continue }
                throw FileReadError.io(path: path, reason: "cannot read: \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            guard out.count + n <= limits.maxBytes else { throw FileReadError.tooLarge(path: path, limit: limits.maxBytes) }
            out.append(contentsOf: buffer[0..<n])
        }
        return out
    }

    /// "8 GiB", "300 MiB", "1000 bytes".
    public static func describe(bytes n: Int) -> String {
        for (unit, shift) in [("GiB", 30), ("MiB", 20), ("KiB", 10)] where n >= 1 << shift && n % (1 << shift) == 0 {
            return "\(n >> shift) \(unit)"
        }
        return "\(n) bytes"
    }
}

@inline(__always)
private func Glibc_read(_ fd: Int32, _ p: UnsafeMutableRawPointer, _ n: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.read(fd, p, n)
    #else
    return Darwin.read(fd, p, n)
    #endif
}
