import Foundation
import Settings

/// How a reply carries its large float arrays: `json` (the default) as arrays of numbers;
/// `base64` as one float32 tensor (`WireTensor`, the form inputs already travel in), which is
/// about four times smaller than the text and costs no number formatting on either side.
public enum ArrayEncoding: String, WireEnum {
    case json, base64
}

/// A float matrix in a reply: rows of numbers (`[[0.5, 1], ...]`), or with
/// `arrayEncoding: "base64"` one tensor `{"shape": [rows, columns], "dtype": "float32",
/// "data": "<base64>"}` of the same values, row-major.
public enum FloatRows: Codable, Sendable, Equatable {
    case rows([[Float]])
    case tensor(WireTensor)

    /// `rows` in the encoding asked for (nil or `.json`: numbers).
    public init(_ rows: [[Float]], encoding: ArrayEncoding?) {
        guard encoding == .base64 else { self = .rows(rows); return }
        let columns = rows.first?.count ?? 0
        var flat = [Float]()
        flat.reserveCapacity(rows.count * columns)
        for r in rows { flat += r }
        let data = flat.withUnsafeBytes { Data($0) }.base64EncodedString()
        self = .tensor(WireTensor(shape: [rows.count, columns], data: data))
    }

    /// The values as rows, whichever form they came in (nil for a tensor that is not 2-D float32).
    public var rows: [[Float]]? {
        switch self {
        case .rows(let r): return r
        case .tensor(let t):
            guard t.shape.count == 2, t.dtype == "float32", let data = Data(base64Encoded: t.data),
                  data.count == t.shape[0] * t.shape[1] * 4 else { return nil }
            let flat: [Float] = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            return (0..<t.shape[0]).map { Array(flat[($0 * t.shape[1])..<(($0 + 1) * t.shape[1])]) }
        }
    }

    public init(from decoder: Decoder) throws {
        if let rows = try? [[Float]](from: decoder) { self = .rows(rows) } else { self = .tensor(try WireTensor(from: decoder)) }
    }

    public func encode(to encoder: Encoder) throws {
        switch self {
        case .rows(let r): try r.encode(to: encoder)
        case .tensor(let t): try t.encode(to: encoder)
        }
    }
}
