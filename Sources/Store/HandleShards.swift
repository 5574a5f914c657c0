import Files
import Foundation
import JSON
import SafeTensors

/// Kept results too large for database rows: their arrays written as safetensors shard files
/// in a directory beside the database (`cache.sqlite.shards/`), the row holding the metadata
/// (which shard holds which rows of which array, its size and checksum).
///
/// Why files: a row is one SQLite blob, read whole into memory and copied through the WAL; an
/// adversarial set of thousands of 224 x 224 images is gigabytes. Files also let
/// another tool read a result as plain safetensors.
///
/// Rules:
/// - A shard is written to a temporary and renamed into place (`AtomicFile`) before the row
///   naming it is committed, so a row never names a half-written shard. The cap counts a
///   result's bytes the same wherever its arrays are.
/// - Shard names are `s<pid>-<16 hex>-<k>.safetensors`, made here, in the shard directory
///   only; a name read back from the database that is not of that form is refused, so a
///   damaged row cannot point a read or a delete elsewhere.
/// - Dropping or evicting a result deletes its shards after the row is gone. A process killed
///   between writing shards and committing their row leaves files no row names; the next open
///   of the database deletes those whose writer no longer runs (`sweep`).
/// - Each shard is checked against its recorded size and checksum (64-bit FNV-1a of the file)
///   when read: a damaged shard is an error naming the file, never a wrong array.
struct HandleShards {
    /// One shard: rows `rows` of array `array` ("images" or "clean") in `file`.
    struct Shard: Codable, Equatable {
        var array: String
        var file: String
        var rows: [Int]
        var bytes: Int
        var checksum: String
    }

    /// The directory beside the database file `database`.
    let directory: String
    /// The most bytes one shard file holds (values; a shard has at least one row).
    static let maxShardBytes = 256 << 20

    init(database: String) { directory = database + ".shards" }

    /// Writes `array`'s rows as shards named for this process (`ShardWriter`, straight from
    /// its values); returns their metadata. On failure the shards written so far are removed.
    func write(_ name: String, _ array: StoredArray, tag: String) throws -> [Shard] {
        let writer = ShardWriter(shards: self, name: name, shape: array.shape, tag: tag)
        try array.values.withUnsafeBufferPointer { try writer.append($0) }
        return try writer.finish()
    }

    /// The array `name` read back from its shards, each checked.
    func read(_ name: String, shape: [Int], from shards: [Shard], handle: String) throws -> StoredArray {
        let perRow = shape.dropFirst().reduce(1, *)
        var values = [Float]()
        values.reserveCapacity(shape.reduce(1, *))
        var next = 0
        for s in shards where s.array == name {
            let file = try path(checked: s.file, handle: handle)
            func corrupt(_ why: String) -> StoreError { .corrupt("kept result \(handle): shard \(file) \(why); drop the result (handle/drop)") }
            guard let data = FileManager.default.contents(atPath: file) else { throw corrupt("is missing or unreadable") }
            guard data.count == s.bytes else { throw corrupt("holds \(data.count) bytes, \(s.bytes) were written") }
            guard HandleShards.checksum(data) == s.checksum else { throw corrupt("fails its checksum (the file changed since it was written)") }
            let tensor: SafeTensor
            do {
                guard let t = try SafeTensorsFile.decode(data)[name] else { throw corrupt("has no tensor \"\(name)\"") }
                tensor = t
            } catch let e as StoreError { throw e } catch { throw corrupt("is not a readable safetensors file (\(error))") }
            guard s.rows.count == 2, s.rows[0] == next, tensor.shape == [s.rows[1] - s.rows[0]] + Array(shape.dropFirst()) else {
                throw corrupt("holds shape \(tensor.shape), not rows \(s.rows) of \(shape)")
            }
            values += tensor.floats
            next = s.rows[1]
        }
        guard next == (shape.first ?? 0), values.count == next * perRow else {
            throw StoreError.corrupt("kept result \(handle): its shards hold \(next) of the \(shape.first ?? 0) rows of \"\(name)\"")
        }
        return StoredArray(shape: shape, values: values)
    }

    /// Deletes the shards' files (those already gone are skipped).
    func remove(_ shards: [Shard]) {
        for s in shards { if let p = try? path(checked: s.file, handle: "") { unlink(p) } }
    }

    /// Deletes the shard files no row in `referenced` names whose writer (the pid in the
    /// name) no longer runs; returns how many. A live writer's files may be between their
    /// rename and their row's commit.
    @discardableResult
    func sweep(referenced: Set<String>) -> Int {
        AtomicFile.removeStaleTemporaries(in: directory)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return 0 }
        var removed = 0
        for name in names where HandleShards.isShardName(name) && !referenced.contains(name) {
            guard let pid = HandleShards.writer(name), pid != getpid(), !(kill(pid, 0) == 0 || errno == EPERM) else { continue }
            if unlink(path(name)) == 0 { removed += 1 }
        }
        return removed
    }

    /// The sizes of the regular files in the directory (none when it does not exist).
    func fileSizes() -> [Int] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        return names.compactMap { name in
            var st = stat()
            guard lstat(path(name), &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return nil }
            return Int(st.st_size)
        }
    }

    /// The metadata as the row keeps it, and back.
    static func encode(_ shards: [Shard]) -> String {
        String(decoding: (try? JSONEncoder().encode(shards)) ?? Data("[]".utf8), as: UTF8.self)
    }

    static func decode(_ text: String, handle: String) throws -> [Shard] {
        do { return try JSONDecoder().decode([Shard].self, from: Data(text.utf8)) } catch {
            throw StoreError.corrupt("kept result \(handle): its shard list is not readable (\(error))")
        }
    }

    /// 64-bit FNV-1a of the bytes, as 16 hex digits.
    static func checksum(_ data: Data) -> String {
        var h = FNV1a()
        data.withUnsafeBytes { h.add($0) }
        return h.hex
    }

    /// `s<pid>-<hex>-<array><k>.safetensors`, nothing else.
    static func isShardName(_ name: String) -> Bool {
        let parts = name.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].first == "s", Int32(parts[0].dropFirst()) != nil,
              parts[1].count == 16, parts[1].allSatisfy(\.isHexDigit), parts[2].hasSuffix(".safetensors") else { return false }
        let stem = parts[2].dropLast(".safetensors".count)
        for array in ["images", "clean"] where stem.hasPrefix(array) {
            let k = stem.dropFirst(array.count)
            return !k.isEmpty && k.allSatisfy(\.isNumber)
        }
        return false
    }

    static func writer(_ name: String) -> pid_t? { Int32(name.split(separator: "-")[0].dropFirst()) }

    /// A fresh tag for one result's shards.
    static func newTag() -> String {
        let hex = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    func path(_ name: String) -> String { directory + "/" + name }

    private func path(checked name: String, handle: String) throws -> String {
        guard HandleShards.isShardName(name) else {
            throw StoreError.corrupt("kept result \(handle): shard name \"\(name.prefix(80))\" is not one the store writes")
        }
        return path(name)
    }

    func ensureDirectory() throws {
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw StoreError.cannotWrite("cannot create the shard directory \(directory): \(error.localizedDescription)")
        }
    }
}
