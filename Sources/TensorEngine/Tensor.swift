import Foundation

/// A float32 tensor with contiguous row-major storage (NCHW for images).
///
/// Value semantics come from Swift's copy-on-write array: copying a tensor is cheap until
/// one copy is written. Hot loops reach the storage through `withUnsafe...` so they carry
/// no per-element bounds checks.
public struct Tensor: Sendable, Equatable {
    /// Extent of each dimension, outermost first. `[]` is a scalar.
    public var shape: [Int]
    /// `shape.reduce(1, *)` values, last dimension fastest.
    public var data: [Float]

    public init(shape: [Int], data: [Float]) {
        precondition(shape.reduce(1, *) == data.count, "Tensor: shape \(shape) does not hold \(data.count) values")
        self.shape = shape
        self.data = data
    }

    /// A tensor filled with `value`.
    public init(shape: [Int], repeating value: Float = 0) {
        self.shape = shape
        self.data = [Float](repeating: value, count: shape.reduce(1, *))
    }

    /// A tensor whose storage the caller fills completely through `body`
    /// (no zero-fill first: for outputs that every element is written to).
    public init(uninitializedShape shape: [Int], _ body: (UnsafeMutableBufferPointer<Float>) -> Void) {
        let n = shape.reduce(1, *)
        self.shape = shape
        self.data = [Float](unsafeUninitializedCapacity: n) { buffer, count in
            body(buffer)
            count = n
        }
    }

    public static func zeros(_ shape: [Int]) -> Tensor { Tensor(shape: shape) }

    public static func scalar(_ value: Float) -> Tensor { Tensor(shape: [], data: [value]) }

    /// Number of elements.
    @inlinable public var count: Int { data.count }
    /// Number of dimensions.
    @inlinable public var rank: Int { shape.count }
    /// Leading dimension (batch size for NCHW and [N, F] tensors).
    @inlinable public var batch: Int { shape.first ?? 1 }
    /// Elements per batch item.
    @inlinable public var itemCount: Int { shape.isEmpty ? 1 : shape.dropFirst().reduce(1, *) }

    /// The same storage seen with another shape of equal element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        Tensor(shape: newShape, data: data)
    }

    /// Items `range` of the leading dimension, copied.
    public func slice(_ range: Range<Int>) -> Tensor {
        let per = itemCount
        var s = shape
        s[0] = range.count
        return Tensor(shape: s, data: Array(data[(range.lowerBound * per)..<(range.upperBound * per)]))
    }

    /// Items at `indices` of the leading dimension, in that order.
    public func gather(_ indices: [Int]) -> Tensor {
        let per = itemCount
        var s = shape
        s[0] = indices.count
        return Tensor(uninitializedShape: s) { out in
            data.withUnsafeBufferPointer { src in
                for (k, i) in indices.enumerated() {
                    precondition(i >= 0 && i < batch, "Tensor.gather: index \(i) out of 0..<\(batch)")
                    out.baseAddress!.advanced(by: k * per).update(from: src.baseAddress! + i * per, count: per)
                }
            }
        }
    }

    /// Concatenates tensors of equal item shape along the leading dimension.
    public static func concatenate(_ parts: [Tensor]) -> Tensor {
        precondition(!parts.isEmpty, "Tensor.concatenate: nothing to join")
        var s = parts[0].shape
        s[0] = parts.reduce(0) { $0 + $1.batch }
        var data = [Float]()
        data.reserveCapacity(s.reduce(1, *))
        for p in parts {
            precondition(Array(p.shape.dropFirst()) == Array(s.dropFirst()), "Tensor.concatenate: item shapes differ")
            data.append(contentsOf: p.data)
        }
        return Tensor(shape: s, data: data)
    }

    /// Whether every value is finite (no NaN or infinity).
    public var isFinite: Bool {
        data.withUnsafeBufferPointer { p in
            for v in p where !v.isFinite { return false }
            return true
        }
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let head = data.prefix(8).map { String(format: "%.4g", Double($0)) }.joined(separator: ", ")
        return "Tensor(\(shape), [\(head)\(count > 8 ? ", ..." : "")])"
    }
}
