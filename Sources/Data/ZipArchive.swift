/// `ZipArchive`: the entries of a ZIP file held in memory (what NumPy's `.npz` is), stored or
/// deflated, ZIP64 sizes included, each inflated within a byte limit and checked by CRC-32.
import CZlib
import Files
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why its own reader: `.npz` needs only listing entries and extracting stored or deflated
/// ones, and every size a hostile file declares must be checked before it is trusted (the
/// fuzzer feeds this reader directly). Multi-disk archives and encryption are refused.
public struct ZipArchive {
    /// One file of the archive, as its central directory describes it.
    public struct Entry: Equatable, Sendable {
        public var name: String
        /// 0 stored, 8 deflate.
        public var method: Int
        public var compressedSize: Int
        public var uncompressedSize: Int
        public var crc32: UInt32
        /// Where the entry's local header starts.
        public var localHeaderOffset: Int
    }

    public let path: String
    /// The archive's bytes from `base` on: all of them, or a window (`directory`, `window`).
    public let bytes: [UInt8]
    /// Where `bytes` start in the file.
    public let base: Int
    /// The entries in central-directory order.
    public let entries: [Entry]

    /// Reads the file at `path` within `limits` and lists its entries.
    public static func read(_ path: String, limits: ReadLimits = .current) throws -> ZipArchive {
        let bytes: [UInt8]
        do { bytes = try ClientFile.read(path, limits: limits) } catch FileReadError.io(_, let reason) {
            throw DataError.io(path: path, reason: reason)
        }
        return try ZipArchive(bytes: bytes, path: path)
    }

    /// Lists the entries of an archive already in memory; `path` names it in errors.
    public init(bytes: [UInt8], path: String) throws {
        self.path = path
        self.bytes = bytes
        self.base = 0
        self.entries = try ZipArchive.centralDirectory(Reader(bytes: bytes, base: 0, size: bytes.count), path: path)
    }

    private init(path: String, bytes: [UInt8], base: Int, entries: [Entry]) {
        (self.path, self.bytes, self.base, self.entries) = (path, bytes, base, entries)
    }

    /// The entries of the archive open at `fd` (`size` bytes), reading only its end: the
    /// directory and the records after it (at most 64 MiB), never the entries' data. For an
    /// archive too large to read whole whose arrays are read by range (`NPYRangeReader`).
    public static func directory(fd: Int32, size: Int, path: String) throws -> ZipArchive {
        // The end record (22 bytes and a comment of up to 65,535), a ZIP64 locator and end record.
        var start = max(0, size - 22 - 65_535 - 20 - 56)
        for _ in 0..<2 {
            let window = try read(fd, from: start, count: size - start, path: path)
            do {
                return ZipArchive(path: path, bytes: window, base: start,
                                  entries: try centralDirectory(Reader(bytes: window, base: start, size: size), path: path))
            } catch let DirectoryBefore.offset(offset) where offset < start && size - offset <= 64 << 20 {
                start = offset
            } catch DirectoryBefore.offset {
                throw DataError.format(path: path, reason: "central directory of more than 64 MiB")
            }
        }
        throw DataError.format(path: path, reason: "central directory moved while it was read")
    }

    /// The archive's bytes `range` of the file open at `fd`, with the same entries: what
    /// `extract` needs of the entries there (their local headers and data).
    public func window(fd: Int32, _ range: Range<Int>) throws -> ZipArchive {
        ZipArchive(path: path, bytes: try ZipArchive.read(fd, from: range.lowerBound, count: range.count, path: path), base: range.lowerBound, entries: entries)
    }

    /// Where `entry`'s data starts, from its local header in the file open at `fd`.
    public func dataOffset(of entry: Entry, fd: Int32) throws -> Int {
        let header = try ZipArchive.read(fd, from: entry.localHeaderOffset, count: 30, path: path)
        let r = Reader(bytes: header, base: entry.localHeaderOffset, size: entry.localHeaderOffset + 30)
        guard r.u32(entry.localHeaderOffset) == 0x0403_4B50 else {
            throw DataError.format(path: path, reason: "entry \"\(entry.name)\": no local header at offset \(entry.localHeaderOffset)")
        }
        return entry.localHeaderOffset + 30 + Int(r.u16(entry.localHeaderOffset + 26)) + Int(r.u16(entry.localHeaderOffset + 28))
    }

    /// Thrown by `centralDirectory` reading a window that starts after the directory.
    private enum DirectoryBefore: Error { case offset(Int) }

    private static func read(_ fd: Int32, from offset: Int, count: Int, path: String) throws -> [UInt8] {
        try FileRange.read(fd, count: count, at: offset, path: path)
    }

    /// The entry called `name`, if any.
    public func entry(_ name: String) -> Entry? { entries.first { $0.name == name } }

    /// The uncompressed bytes of `entry`. An entry declaring more than `limits.maxBytes` is
    /// refused before inflating (`FileReadError.tooLarge`), inflation stops at the declared size,
    /// and a size or CRC-32 that disagrees with the data is an error.
    public func extract(_ entry: Entry, limits: ReadLimits = .current) throws -> [UInt8] {
        func fail(_ reason: String) -> DataError { .format(path: path, reason: "entry \"\(entry.name)\": \(reason)") }
        guard entry.uncompressedSize <= limits.maxBytes else { throw FileReadError.tooLarge(path: "\(path) (entry \"\(entry.name)\")", limit: limits.maxBytes) }
        let at = entry.localHeaderOffset - base
        guard at >= 0, at <= bytes.count - 30, u32(at) == 0x0403_4B50 else { throw fail("no local header at offset \(entry.localHeaderOffset)") }
        let (dataStart, overflow) = (at + 30).addingReportingOverflow(Int(u16(at + 26)) + Int(u16(at + 28)))
        guard !overflow, dataStart <= bytes.count, entry.compressedSize <= bytes.count - dataStart else {
            throw fail("its \(entry.compressedSize) compressed bytes run past the end of the file")
        }
        let data = bytes[dataStart..<dataStart + entry.compressedSize]
        let out: [UInt8]
        switch entry.method {
        case 0:
            guard entry.compressedSize == entry.uncompressedSize else {
                throw fail("stored entry with compressed size \(entry.compressedSize) and size \(entry.uncompressedSize)")
            }
            out = Array(data)
        case 8:
            out = try inflate(data, size: entry.uncompressedSize, limits: limits, fail: fail)
        default:
            throw fail("compression method \(entry.method) is not supported (stored 0 and deflate 8 are)")
        }
        let crc = out.withUnsafeBufferPointer { buffer in
            stride(from: 0, to: buffer.count, by: 1 << 30).reduce(CZlib.crc32(0, nil, 0)) { crc, start in
                CZlib.crc32(crc, buffer.baseAddress! + start, UInt32(min(1 << 30, buffer.count - start)))
            }
        }
        guard UInt32(truncatingIfNeeded: crc) == entry.crc32 else { throw fail("CRC-32 \(hex(UInt32(truncatingIfNeeded: crc))) does not match the \(hex(entry.crc32)) recorded") }
        return out
    }

    /// Raw deflate into exactly `size` bytes, asking `limits.shouldStop` every 1 MiB of output.
    private func inflate(_ data: ArraySlice<UInt8>, size: Int, limits: ReadLimits, fail: (String) -> DataError) throws -> [UInt8] {
        var stream = z_stream()
        guard inflateInit2_(&stream, -MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw fail("zlib could not start inflating")
        }
        defer { inflateEnd(&stream) }
        var out = [UInt8](repeating: 0, count: size)
        var input = Array(data)
        var produced = 0
        var status = Z_OK
        try input.withUnsafeMutableBufferPointer { src in
            try out.withUnsafeMutableBufferPointer { dst in
                stream.next_in = src.baseAddress
                stream.avail_in = UInt32(src.count)
                while status == Z_OK {
                    if limits.shouldStop() { throw FileReadError.cancelled(path: path) }
                    let room = min(size - produced, 1 << 20)
                    // One spare byte past the declared size shows data that inflates to more.
                    var spare: UInt8 = 0
                    if room == 0 {
                        withUnsafeMutablePointer(to: &spare) { p in
                            stream.next_out = p
                            stream.avail_out = 1
                            status = CZlib.inflate(&stream, Z_NO_FLUSH)
                        }
                        if stream.avail_out == 0 { throw fail("inflates to more than the \(size) bytes recorded") }
                        break
                    }
                    stream.next_out = dst.baseAddress! + produced
                    stream.avail_out = UInt32(room)
                    status = CZlib.inflate(&stream, Z_NO_FLUSH)
                    produced += room - Int(stream.avail_out)
                    if status == Z_BUF_ERROR && stream.avail_in == 0 { throw fail("deflate data is truncated") }
                }
            }
        }
        guard status == Z_STREAM_END else { throw fail("corrupt deflate data (zlib error \(status))") }
        guard produced == size else { throw fail("inflates to \(produced) bytes, \(size) recorded") }
        return out
    }

    // MARK: The central directory

    /// The entries listed by the directory in `r` (all of the file, or a window at its end;
    /// a window that starts after the directory throws `DirectoryBefore`).
    private static func centralDirectory(_ r: Reader, path: String) throws -> [Entry] {
        func fail(_ reason: String) -> DataError { .format(path: path, reason: reason) }
        let fileSize = r.size
        // The end-of-central-directory record: 22 bytes plus a comment of up to 65,535.
        guard fileSize >= 22 else { throw fail("not a ZIP file (\(fileSize) bytes, too short for its directory)") }
        var eocd = -1
        for at in stride(from: fileSize - 22, through: max(r.base, fileSize - 22 - 65_535), by: -1) where r.u32(at) == 0x0605_4B50 {
            eocd = at
            break
        }
        guard eocd >= 0 else { throw fail("not a ZIP file (no end-of-central-directory record)") }
        guard r.u16(eocd + 4) == 0, r.u16(eocd + 6) == 0 else { throw fail("multi-disk ZIP archives are not supported") }
        var count = Int(r.u16(eocd + 10))
        var size = Int(r.u32(eocd + 12))
        var offset = Int(r.u32(eocd + 16))
        if count == 0xFFFF || size == 0xFFFF_FFFF || offset == 0xFFFF_FFFF {
            // ZIP64: a locator 20 bytes before, pointing at the ZIP64 end record.
            guard eocd >= 20, r.u32(eocd - 20) == 0x0706_4B50 else { throw fail("ZIP64 sizes without a ZIP64 locator") }
            let at = try r.int64(eocd - 12, fail)
            if at < r.base && at >= 0 { throw DirectoryBefore.offset(at) }
            guard at <= fileSize - 56, r.u32(at) == 0x0606_4B50 else { throw fail("no ZIP64 end record at offset \(at)") }
            count = try r.int64(at + 32, fail)
            size = try r.int64(at + 40, fail)
            offset = try r.int64(at + 48, fail)
        }
        guard offset <= fileSize, size <= fileSize - offset else {
            throw fail("central directory (offset \(offset), \(size) bytes) runs past the end of the file")
        }
        if offset < r.base { throw DirectoryBefore.offset(offset) }
        guard count <= size / 46 else { throw fail("central directory of \(size) bytes cannot hold \(count) entries") }
        var entries: [Entry] = []
        entries.reserveCapacity(count)
        var at = offset
        let end = offset + size
        for i in 0..<count {
            guard at <= end - 46, r.u32(at) == 0x0201_4B50 else { throw fail("central directory entry \(i) is malformed") }
            let flags = r.u16(at + 8)
            guard flags & 1 == 0 else { throw fail("entry \(i) is encrypted") }
            let nameLength = Int(r.u16(at + 28)), extraLength = Int(r.u16(at + 30)), commentLength = Int(r.u16(at + 32))
            let next = at + 46 + nameLength + extraLength + commentLength
            guard next <= end else { throw fail("central directory entry \(i) runs past the directory") }
            let name = String(decoding: r.bytes[(at - r.base + 46)..<(at - r.base + 46 + nameLength)], as: UTF8.self)
            var compressed = Int(r.u32(at + 20)), uncompressed = Int(r.u32(at + 24)), local = Int(r.u32(at + 42))
            // ZIP64 extra field (id 1): the 8-byte values of the fields set to 0xFFFFFFFF, in order.
            var extra = at + 46 + nameLength
            let extraEnd = extra + extraLength
            while extra + 4 <= extraEnd {
                let id = r.u16(extra), length = Int(r.u16(extra + 2))
                guard extra + 4 + length <= extraEnd else { throw fail("entry \"\(name)\": extra field runs past its header") }
                if id == 1 {
                    var field = extra + 4
                    func wide(_ value: inout Int) throws {
                        guard value == 0xFFFF_FFFF else { return }
                        guard field + 8 <= extra + 4 + length else { throw fail("entry \"\(name)\": ZIP64 field too short") }
                        value = try r.int64(field, fail)
                        field += 8
                    }
                    try wide(&uncompressed)
                    try wide(&compressed)
                    try wide(&local)
                }
                extra += 4 + length
            }
            entries.append(Entry(name: name, method: Int(r.u16(at + 10)), compressedSize: compressed, uncompressedSize: uncompressed,
                                 crc32: r.u32(at + 16), localHeaderOffset: local))
            at = next
        }
        return entries
    }

    /// Fields at offsets into `bytes` (not the file).
    private func u16(_ at: Int) -> UInt16 { Reader(bytes: bytes, base: 0, size: bytes.count).u16(at) }
    private func u32(_ at: Int) -> UInt32 { Reader(bytes: bytes, base: 0, size: bytes.count).u32(at) }
    private func hex(_ v: UInt32) -> String { "0x" + String(v, radix: 16) }

    /// Little-endian fields at file offsets of the archive's bytes `base`..<`base + bytes.count`
    /// of a file of `size` bytes (callers check the bounds against `size`; a field outside the
    /// window reads as 0, which no signature matches).
    private struct Reader {
        let bytes: [UInt8]
        let base: Int
        let size: Int
        func u16(_ at: Int) -> UInt16 {
            guard at >= base, at - base + 2 <= bytes.count else { return 0 }
            return UInt16(bytes[at - base]) | UInt16(bytes[at - base + 1]) << 8
        }
        func u32(_ at: Int) -> UInt32 { UInt32(u16(at)) | UInt32(u16(at + 2)) << 16 }
        /// An 8-byte size or offset, which must fit in Int.
        func int64(_ at: Int, _ fail: (String) -> DataError) throws -> Int {
            let v = UInt64(u32(at)) | UInt64(u32(at + 4)) << 32
            guard v <= UInt64(Int.max) else { throw fail("a ZIP64 size or offset of \(v) bytes") }
            return Int(v)
        }
    }
}
