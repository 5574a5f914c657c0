/// Writing safetensors files the way the reference implementation does: tensors laid out
/// by element size descending (8-byte types first, so every tensor is aligned to its size)
/// then by name, header keys in that same order after `__metadata__`, compact JSON, and the
/// header padded with spaces to a multiple of 8 bytes.
import Files
import Foundation
import JSON

extension SafeTensorsFile {
    /// Dtypes the writer can store: "F32" (the default) and "I64" (for integer buffers such
    /// as batch norm's `num_batches_tracked`; every value must then be an integer).
    public static let writableDtypes: Set<String> = ["F32", "I64"]

    /// Serialises `tensors` with `metadata` (omitted from the header when empty).
    /// `dtypes` maps a tensor name to its stored dtype; names not in it are written as F32.
    public static func encode(tensors: [(name: String, shape: [Int], floats: [Float])],
                              metadata: [String: String] = [:],
                              dtypes: [String: String] = [:]) throws -> Foundation.Data {
        struct Item { let name: String; let shape: [Int]; let floats: [Float]; let dtype: DType }
        var items: [Item] = []
        var names = Set<String>()
        for t in tensors {
            guard names.insert(t.name).inserted else { throw SafeTensorsError.invalidTensor(key: t.name, reason: "name given twice") }
            guard t.name != "__metadata__" else { throw SafeTensorsError.invalidTensor(key: t.name, reason: "name is reserved") }
            let dtypeName = dtypes[t.name] ?? "F32"
            guard writableDtypes.contains(dtypeName), let dtype = DType(rawValue: dtypeName) else {
                throw SafeTensorsError.invalidTensor(key: t.name, reason: "cannot write dtype '\(dtypeName)' (writable: F32, I64)")
            }
            guard t.shape.allSatisfy({ $0 >= 0 }) else {
                throw SafeTensorsError.invalidTensor(key: t.name, reason: "negative dimension in shape \(t.shape)")
            }
            var count = 1
            for d in t.shape {
                let (p, o) = count.multipliedReportingOverflow(by: d)
                guard !o else { throw SafeTensorsError.invalidTensor(key: t.name, reason: "shape \(t.shape) overflows") }
                count = p
            }
            guard count == t.floats.count else {
                throw SafeTensorsError.invalidTensor(key: t.name, reason: "shape \(t.shape) holds \(count) values but \(t.floats.count) were given")
            }
            if dtype == .i64, let bad = t.floats.firstIndex(where: { Int64(exactly: $0) == nil }) {
                throw SafeTensorsError.invalidTensor(key: t.name, reason: "value \(t.floats[bad]) at index \(bad) is not an integer, cannot store as I64")
            }
            items.append(Item(name: t.name, shape: t.shape, floats: t.floats, dtype: dtype))
        }
        items.sort { ($0.dtype.size, $1.name) > ($1.dtype.size, $0.name) }

        var header = "{"
        var parts: [String] = []
        if !metadata.isEmpty {
            let m = metadata.keys.sorted().map { "\(JSONText.string(.string($0))):\(JSONText.string(.string(metadata[$0]!)))" }
            parts.append("\"__metadata__\":{\(m.joined(separator: ","))}")
        }
        var offset = 0
        for it in items {
            let bytes = it.floats.count * it.dtype.size
            let shape = it.shape.map(String.init).joined(separator: ",")
            parts.append("\(JSONText.string(.string(it.name))):{\"dtype\":\"\(it.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + bytes)]}")
            offset += bytes
        }
        header += parts.joined(separator: ",") + "}"
        let prefix = framedHeader(header)
        var out = [UInt8]()
        out.reserveCapacity(prefix.count + offset)
        out.append(contentsOf: prefix)
        for it in items {
            switch it.dtype {
            case .i64:
                for v in it.floats { withUnsafeBytes(of: Int64(v).littleEndian) { out.append(contentsOf: $0) } }
            default:
                #if _endian(little)
                it.floats.withUnsafeBytes { out.append(contentsOf: $0) }
                #else
                for v in it.floats { withUnsafeBytes(of: v.bitPattern.littleEndian) { out.append(contentsOf: $0) } }
                #endif
            }
        }
        return Foundation.Data(out)
    }

    /// The bytes before the data of a file holding one F32 tensor `name` of `shape`, as
    /// `encode` writes them: for a writer that streams the values after it (a kept result's
    /// shard, written while its rows are made).
    public static func header(float32 name: String, shape: [Int]) -> [UInt8] {
        let bytes = shape.reduce(4, *)
        let dims = shape.map(String.init).joined(separator: ",")
        return framedHeader("{\(JSONText.string(.string(name))):{\"dtype\":\"F32\",\"shape\":[\(dims)],\"data_offsets\":[0,\(bytes)]}}")
    }

    /// The header JSON padded with spaces to a multiple of 8 bytes, after its length (8 bytes,
    /// little-endian).
    static func framedHeader(_ json: String) -> [UInt8] {
        var headerBytes = Array(json.utf8)
        headerBytes.append(contentsOf: repeatElement(UInt8(ascii: " "), count: (8 - headerBytes.count % 8) % 8))
        var out = [UInt8]()
        withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { out.append(contentsOf: $0) }
        return out + headerBytes
    }

    /// Serialises this file's tensors as F32 (I64 where the tensor was read as I64).
    public func encoded() throws -> Foundation.Data {
        let list = names.map { (name: $0, shape: tensors[$0]!.shape, floats: tensors[$0]!.floats) }
        let dtypes = tensors.filter { $0.value.dtype == "I64" }.mapValues { _ in "I64" }
        return try SafeTensorsFile.encode(tensors: list, metadata: metadata, dtypes: dtypes)
    }

    /// Encodes and writes atomically: a temporary file in the same directory is written,
    /// fsynced and renamed over `url`, so readers see the old file or the new one, never a part.
    public static func write(tensors: [(name: String, shape: [Int], floats: [Float])],
                             metadata: [String: String] = [:],
                             dtypes: [String: String] = [:],
                             to url: URL) throws {
        let data = try encode(tensors: tensors, metadata: metadata, dtypes: dtypes)
        try writeAtomically(data, to: url)
    }

    /// Writes `bytes` to `url` through a temporary file, fsync and rename (`AtomicFile`,
    /// which first removes the temporaries killed writers left in that directory).
    public static func writeAtomically(_ data: Foundation.Data, to url: URL) throws {
        do {
            try data.withUnsafeBytes { try AtomicFile.write($0, to: url.path) }
        } catch let e as AtomicFile.WriteError {
            throw SafeTensorsError.io(path: e.path, reason: e.reason)
        }
    }
}
