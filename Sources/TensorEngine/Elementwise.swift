import Foundation

/// Elementwise kernels over whole tensors. Shapes must agree exactly (no broadcasting:
/// the layers that need per-channel or per-row forms have their own loops).
extension Tensor {
    @inline(__always)
    private func checkSameShape(_ other: Tensor, _ op: String) {
        precondition(shape == other.shape, "Tensor.\(op): shapes \(shape) and \(other.shape) differ")
    }

    /// self += other.
    public mutating func add(_ other: Tensor) {
        checkSameShape(other, "add")
        axpy(1, other)
    }

    /// self += alpha · x. From a million floats (a training step summing two passes' gradients
    /// of ResNet-18's 11 M weights) the elements are split over the cores; each is the same
    /// expression either way.
    public mutating func axpy(_ alpha: Float, _ x: Tensor) {
        checkSameShape(x, "axpy")
        let n = count
        data.withUnsafeMutableBufferPointer { y in
            x.data.withUnsafeBufferPointer { xs in
                let yp = y.baseAddress!, xp = xs.baseAddress!
                Parallel.forRanges(n, grain: n >= 1 << 20 ? 1 << 18 : max(n, 1)) { r in
                    for i in r { yp[i] += alpha * xp[i] }
                }
            }
        }
    }

    /// self *= alpha.
    public mutating func scale(_ alpha: Float) {
        let n = count
        data.withUnsafeMutableBufferPointer { y in
            let yp = y.baseAddress!
            for i in 0..<n { yp[i] *= alpha }
        }
    }

    /// self[i] = f(self[i]).
    @inlinable
    public mutating func apply(_ f: (Float) -> Float) {
        let n = count
        data.withUnsafeMutableBufferPointer { y in
            let yp = y.baseAddress!
            for i in 0..<n { yp[i] = f(yp[i]) }
        }
    }

    /// A new tensor with f applied to each element.
    @inlinable
    public func map(_ f: (Float) -> Float) -> Tensor {
        var t = self
        t.apply(f)
        return t
    }

    /// A new tensor f(self[i], other[i]).
    @inlinable
    public func zip(_ other: Tensor, _ f: (Float, Float) -> Float) -> Tensor {
        precondition(shape == other.shape, "Tensor.zip: shapes \(shape) and \(other.shape) differ")
        let n = count
        return Tensor(uninitializedShape: shape) { out in
            data.withUnsafeBufferPointer { a in
                other.data.withUnsafeBufferPointer { b in
                    let o = out.baseAddress!, ap = a.baseAddress!, bp = b.baseAddress!
                    for i in 0..<n { o[i] = f(ap[i], bp[i]) }
                }
            }
        }
    }

    /// Clamps every element into [low, high].
    public mutating func clamp(_ low: Float, _ high: Float) {
        apply { Swift.min(Swift.max($0, low), high) }
    }

    public static func + (a: Tensor, b: Tensor) -> Tensor { a.zip(b, +) }
    public static func - (a: Tensor, b: Tensor) -> Tensor { a.zip(b, -) }
    public static func * (a: Tensor, b: Tensor) -> Tensor { a.zip(b, *) }
    public static func * (a: Tensor, s: Float) -> Tensor { a.map { $0 * s } }
}
