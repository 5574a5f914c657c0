import Foundation

/// A float32 array with its shape, as the store keeps it: the values as a little-endian
/// float32 blob, the shape as JSON text ("[1,28,28]").
public struct StoredArray: Sendable, Equatable {
    public var shape: [Int]
    public var values: [Float]

    public init(shape: [Int], values: [Float]) {
        precondition(shape.reduce(1, *) == values.count, "StoredArray: shape \(shape) does not hold \(values.count) values")
        self.shape = shape
        self.values = values
    }

    /// The values' bytes (little-endian float32, the layout of every platform Swift runs on here).
    var blob: Data { values.withUnsafeBytes { Data($0) } }

    var shapeText: String { "[" + shape.map(String.init).joined(separator: ",") + "]" }

    /// Bytes a row holding this array accounts for against the cap.
    var byteCount: Int { values.count * 4 + shapeText.utf8.count }

    /// Decodes a blob and shape text read back from the database.
    init(shapeText: String, blob: Data) throws {
        guard let shape = StoredArray.parseShape(shapeText) else { throw StoreError.corrupt("shape \"\(shapeText)\" is not a JSON array of integers") }
        let count = shape.reduce(1, *)
        guard blob.count == count * 4 else {
            throw StoreError.corrupt("a blob of \(blob.count) bytes does not hold shape \(shape) (\(count * 4) bytes)")
        }
        var values = [Float](repeating: 0, count: count)
        values.withUnsafeMutableBytes { out in _ = blob.copyBytes(to: out) }
        self.shape = shape
        self.values = values
    }

    static func parseShape(_ text: String) -> [Int]? {
        let t = text.trimmingCharacters(in: .whitespaces)
        guard t.hasPrefix("["), t.hasSuffix("]") else { return nil }
        let inner = t.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
        if inner.isEmpty { return [] }
        var out: [Int] = []
        for part in inner.split(separator: ",") {
            guard let n = Int(part.trimmingCharacters(in: .whitespaces)), n >= 0 else { return nil }
            out.append(n)
        }
        return out
    }
}

/// An integer list as JSON text and back (labels of a handle).
enum IntListText {
    static func encode(_ list: [Int]) -> String { "[" + list.map(String.init).joined(separator: ",") + "]" }

    static func decode(_ text: String) throws -> [Int] {
        let t = text.trimmingCharacters(in: .whitespaces)
        guard t.hasPrefix("["), t.hasSuffix("]") else { throw StoreError.corrupt("\"\(text.prefix(40))\" is not a JSON integer list") }
        let inner = t.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
        if inner.isEmpty { return [] }
        return try inner.split(separator: ",").map {
            guard let n = Int($0.trimmingCharacters(in: .whitespaces)) else { throw StoreError.corrupt("\"\($0)\" is not an integer") }
            return n
        }
    }
}
