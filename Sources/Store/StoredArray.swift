import Foundation
import JSON

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

    var shapeText: String { IntListText.encode(shape) }

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
        guard let dims = try? IntListText.decode(text), dims.allSatisfy({ $0 >= 0 }) else { return nil }
        return dims
    }
}

/// An integer list as JSON text and back (shapes, labels of a handle), through the JSON module.
enum IntListText {
    static func encode(_ list: [Int]) -> String { JSONText.string(.array(list.map { .number(Double($0)) })) }

    static func decode(_ text: String) throws -> [Int] {
        guard case .array(let items)? = try? JSONText.parse(text) else {
            throw StoreError.corrupt("\"\(text.prefix(40))\" is not a JSON integer list")
        }
        return try items.map {
            guard let n = $0.intValue else { throw StoreError.corrupt("\"\($0)\" is not an integer") }
            return n
        }
    }
}
