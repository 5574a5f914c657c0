/// `FileRange`: reading a byte range of a file held open, whole or an error naming the file.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why one helper: the streamed kinds (CIFAR records, an `.npz` archive's directory and
/// labels) read ranges of files they hold open, and a short read (a file that shrank since
/// the load) must be an error, never zeros.
enum FileRange {
    /// `count` bytes at `offset` of `fd` into the start of `buffer` (at least `count` long).
    static func read(_ fd: Int32, into buffer: inout [UInt8], count: Int, at offset: Int, path: String) throws {
        var done = 0
        while done < count {
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(offset + done)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                throw DataError.io(path: path, reason: n < 0 ? "cannot read: \(String(cString: strerror(errno)))" : "ends early (the file shrank)")
            }
            done += n
        }
    }

    /// `count` bytes at `offset` of `fd`.
    static func read(_ fd: Int32, count: Int, at offset: Int, path: String) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: max(0, count))
        try read(fd, into: &out, count: out.count, at: offset, path: path)
        return out
    }
}
