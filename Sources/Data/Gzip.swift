/// Whole-file reading and writing through zlib: reads gzip files and plain files alike
/// (zlib passes non-gzip data through unchanged), writes either form.
import CZlib
import Files
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum Gzip {
    /// The bytes of the file at `path`, decompressed if it is gzip (decided by its content,
    /// not its name). Corrupt or truncated gzip data is an error. Only a regular file is read
    /// (`FileReadError.notRegularFile` otherwise, at once), never more than `limits.maxBytes`
    /// of it nor of what it inflates to (`.tooLarge`, as soon as inflation passes the limit),
    /// and `limits.shouldStop` is asked between 1 MiB chunks (`.cancelled`).
    public static func readFile(_ path: String, limits: ReadLimits = .current) throws -> [UInt8] {
        let (fd, size): (Int32, Int)
        do { (fd, size) = try ClientFile.openRegular(path, limits: limits) } catch FileReadError.io(_, let reason) {
            throw DataError.io(path: path, reason: reason)
        }
        guard let f = gzdopen(fd, "rb") else {
            close(fd)
            throw DataError.io(path: path, reason: "cannot open: \(String(cString: strerror(errno)))")
        }
        var closed = false
        defer { if !closed { gzclose(f) } }
        gzbuffer(f, 1 << 18)
        var out = [UInt8]()
        out.reserveCapacity(min(size * 2, limits.maxBytes))
        let chunk = 1 << 20
        var buffer = [UInt8](repeating: 0, count: chunk)
        while true {
            if limits.shouldStop() { throw FileReadError.cancelled(path: path) }
            let n = buffer.withUnsafeMutableBytes { gzread(f, $0.baseAddress, UInt32(chunk)) }
            if n < 0 { throw DataError.io(path: path, reason: "cannot read: \(message(f))") }
            if n == 0 { break }
            guard out.count + Int(n) <= limits.maxBytes else { throw FileReadError.tooLarge(path: path, limit: limits.maxBytes) }
            out.append(contentsOf: buffer[0..<Int(n)])
        }
        var errnum: Int32 = 0
        _ = gzerror(f, &errnum)
        if errnum != Z_OK { throw DataError.io(path: path, reason: "cannot read: \(message(f))") }
        closed = true
        let rc = gzclose(f)
        if rc == Z_BUF_ERROR { throw DataError.io(path: path, reason: "gzip data is truncated") }
        if rc != Z_OK { throw DataError.io(path: path, reason: "cannot read (zlib error \(rc))") }
        return out
    }

    /// Writes `bytes` to `path`, gzip-compressed or plain.
    public static func writeFile(_ bytes: [UInt8], to path: String, compressed: Bool) throws {
        guard let f = gzopen(path, compressed ? "wb6" : "wbT") else {
            throw DataError.io(path: path, reason: "cannot create: \(String(cString: strerror(errno)))")
        }
        var offset = 0
        while offset < bytes.count {
            let n = min(bytes.count - offset, 1 << 24)
            let written = bytes.withUnsafeBytes { gzwrite(f, $0.baseAddress! + offset, UInt32(n)) }
            if written <= 0 {
                let why = message(f)
                gzclose(f)
                throw DataError.io(path: path, reason: "cannot write: \(why)")
            }
            offset += Int(written)
        }
        let rc = gzclose(f)
        if rc != Z_OK { throw DataError.io(path: path, reason: "cannot finish writing (zlib error \(rc))") }
    }

    private static func message(_ f: gzFile) -> String {
        var errnum: Int32 = 0
        guard let m = gzerror(f, &errnum) else { return "zlib error \(errnum)" }
        if errnum == Z_ERRNO { return String(cString: strerror(errno)) }
        let s = String(cString: m)
        return s.isEmpty ? "zlib error \(errnum)" : s
    }
}
