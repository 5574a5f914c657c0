import Files
import Foundation
import SafeTensors

/// One array of a kept result written as shard files while its rows arrive: each shard's
/// header first, then its rows straight from the caller's buffer into the temporary file,
/// renamed into place when the shard is full.
///
/// Why not encode whole shards: a shard of 256 MiB built as an array, then as a safetensors
/// `Data`, took two or three copies of the images in memory, and an attack over a streamed
/// dataset must not hold its result at all; written this way a result of any size takes the
/// caller's chunk and a 1 MiB buffer. The files are byte for byte what `SafeTensorsFile.encode`
/// writes, checksummed as they are written.
final class ShardWriter {
    let shards: HandleShards
    let name: String
    /// One row's shape, and the rows planned (a shard's header names its rows before they come).
    let rowShape: [Int]
    let plannedRows: Int
    let tag: String
    let rowsPerShard: Int
    /// The shards renamed into place so far.
    private(set) var written: [HandleShards.Shard] = []
    /// Rows appended so far.
    private(set) var rows = 0
    private var open: Open?

    /// The shard being written: its temporary, file name, first row, rows planned and written,
    /// and the checksum of its bytes so far.
    private struct Open {
        var stream: AtomicFile.Stream
        var file: String
        var start: Int
        var planned: Int
        var rows: Int
        var headerBytes: Int
        var hash: FNV1a
    }

    init(shards: HandleShards, name: String, shape: [Int], tag: String) {
        self.shards = shards
        self.name = name
        rowShape = Array(shape.dropFirst())
        plannedRows = shape.first ?? 0
        self.tag = tag
        rowsPerShard = max(1, HandleShards.maxShardBytes / max(1, rowShape.reduce(4, *)))
    }

    private var perRow: Int { rowShape.reduce(1, *) }

    /// Appends whole rows (`values.count` a multiple of a row's values, at most the rows left).
    func append(_ values: UnsafeBufferPointer<Float>) throws {
        precondition(perRow == 0 || values.count % perRow == 0, "ShardWriter: \(values.count) values are not whole rows of \(rowShape)")
        let count = perRow == 0 ? 0 : values.count / perRow
        precondition(rows + count <= plannedRows, "ShardWriter: \(rows + count) rows of \(plannedRows) planned")
        try wrapped {
            var done = 0
            while done < count {
                if open == nil { try begin() }
                let take = min(count - done, open!.planned - open!.rows)
                let bytes = UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: values[(done * perRow)..<((done + take) * perRow)]))
                try open!.stream.write(bytes)
                open!.hash.add(bytes)
                open!.rows += take
                rows += take
                done += take
                if open!.rows == open!.planned { try close() }
            }
        }
    }

    /// The shards of every row appended. Fewer rows than planned (a cancelled attack) end the
    /// last shard where they stop: it is written again with its true row count. On failure
    /// every shard written is removed.
    func finish() throws -> [HandleShards.Shard] {
        try wrapped {
            if let partial = open {
                open = nil
                try rewrite(partial)
            } else if written.isEmpty {
                try begin(planned: 0)
                try close()
            }
        }
        return written
    }

    /// Removes every shard written and the temporary of the one being written.
    func abandon() {
        open?.stream.prepared.discard()
        open = nil
        shards.remove(written)
        written = []
    }

    private func wrapped(_ body: () throws -> Void) throws {
        do { try body() } catch {
            abandon()
            throw StoreError.cannotWrite("cannot write a shard of a kept result in \(shards.directory): \(error)")
        }
    }

    private func begin(planned: Int? = nil) throws {
        try shards.ensureDirectory()
        let start = rows
        let file = "s\(getpid())-\(tag)-\(name)\(written.count).safetensors"
        let stream = try Confinement.$root.withValue(nil) { try AtomicFile.Stream(for: shards.path(file)) }
        let rowsHere = planned ?? min(rowsPerShard, plannedRows - start)
        let header = SafeTensorsFile.header(float32: name, shape: [rowsHere] + rowShape)
        var hash = FNV1a()
        try header.withUnsafeBytes { raw in
            try stream.write(raw)
            hash.add(raw)
        }
        open = Open(stream: stream, file: file, start: start, planned: rowsHere, rows: 0, headerBytes: header.count, hash: hash)
    }

    private func close() throws {
        guard let s = open else { return }
        open = nil
        let prepared = try s.stream.finish()
        try AtomicFile.commit(prepared)
        written.append(HandleShards.Shard(array: name, file: s.file, rows: [s.start, s.start + s.rows],
                                          bytes: s.headerBytes + s.rows * perRow * 4, checksum: s.hash.hex))
    }

    /// The shard `partial` again, as a file of its rows so far: a new header, its data copied
    /// from the first temporary a megabyte at a time.
    private func rewrite(_ partial: Open) throws {
        defer { partial.stream.prepared.discard() }
        let rowsSoFar = rows
        rows = partial.start
        try begin(planned: partial.rows)
        rows = rowsSoFar
        let total = partial.rows * perRow * 4
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var copied = 0
        while copied < total {
            let n = try partial.stream.read(at: partial.headerBytes + copied, into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<min(buffer.count, total - copied)]))
            guard n > 0 else { throw StoreError.cannotWrite("shard \(partial.file) ended after \(copied) of \(total) bytes") }
            let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
            try open!.stream.write(chunk)
            open!.hash.add(chunk)
            copied += n
        }
        open!.rows = partial.rows
        try close()
    }
}

/// 64-bit FNV-1a, fed piece by piece: a shard's checksum computed as it is written.
struct FNV1a {
    private var h: UInt64 = 0xCBF2_9CE4_8422_2325

    mutating func add(_ bytes: UnsafeRawBufferPointer) {
        var x = h
        for b in bytes { x = (x ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        h = x
    }

    /// As 16 hex digits.
    var hex: String {
        let digits = String(h, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
