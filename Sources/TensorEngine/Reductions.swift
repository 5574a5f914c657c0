import Foundation

/// Reductions: whole-tensor sums and norms, and row-wise forms over [N, K] matrices
/// (softmax, log-softmax, argmax) that losses and predictions use.
extension Tensor {
    /// Sum of all elements, accumulated in Double.
    public func sum() -> Float {
        data.withUnsafeBufferPointer { p in
            var s = 0.0
            for v in p { s += Double(v) }
            return Float(s)
        }
    }

    /// Dot product with a tensor of the same shape, accumulated in Double.
    public func dot(_ other: Tensor) -> Float {
        precondition(shape == other.shape, "Tensor.dot: shapes \(shape) and \(other.shape) differ")
        return data.withUnsafeBufferPointer { a in
            other.data.withUnsafeBufferPointer { b in
                var s = 0.0
                for i in 0..<a.count { s += Double(a[i]) * Double(b[i]) }
                return Float(s)
            }
        }
    }

    /// Largest absolute value (0 for an empty tensor; NaNs are passed over). Sixteen lanes at
    /// once: training checks every weight with it after each step (11 M for a ResNet-18), and a
    /// one-value running maximum is a serial chain. The maximum does not depend on order.
    /// Tensors of a million floats and more are split over the cores (a maximum of maxima).
    public func maxAbs() -> Float {
        data.withUnsafeBufferPointer { p in
            guard let base = p.baseAddress else { return 0 }
            return Self.combined(p.count, 0, Swift.max) { Self.maxAbs(base, $0) }
        }
    }

    static func maxAbs(_ p: UnsafePointer<Float>, _ r: Range<Int>) -> Float {
        var lanes = SIMD16<Float>(repeating: 0)
        var i = r.lowerBound
        let base = UnsafeRawPointer(p)
        while i + 16 <= r.upperBound {
            let v = base.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
            // NaN lanes compare false and keep the running value, as Swift.max does.
            let a = unsafeBitCast(unsafeBitCast(v, to: SIMD16<UInt32>.self) & 0x7FFF_FFFF, to: SIMD16<Float>.self)
            lanes.replace(with: a, where: a .> lanes)
            i += 16
        }
        var m = lanes.max()
        while i < r.upperBound { m = Swift.max(m, abs(p[i])); i += 1 }
        return m
    }

    /// `part` over 0..<count, in parallel ranges from `Tensor.parallelReduction` floats, the
    /// parts' results combined in any order: for reductions whose result does not depend on it.
    static func combined<T>(_ count: Int, _ initial: T, _ combine: (T, T) -> T, _ part: (Range<Int>) -> T) -> T {
        guard count >= parallelReduction else { return part(0..<count) }
        let lock = NSLock()
        var result = initial
        Parallel.forRanges(count, grain: parallelReduction / 2) { r in
            let v = part(r)
            lock.withLock { result = combine(result, v) }
        }
        return result
    }

    /// Floats from which a whole-tensor check runs on every core (4 MB).
    static let parallelReduction = 1 << 20

    /// Per item of the leading dimension: the L2 norm of that item.
    public func itemNorms() -> [Float] {
        let per = itemCount
        return data.withUnsafeBufferPointer { p in
            (0..<batch).map { i in
                var s = 0.0
                for j in (i * per)..<((i + 1) * per) { s += Double(p[j]) * Double(p[j]) }
                return Float(s.squareRoot())
            }
        }
    }

    /// Per item of the leading dimension: the largest absolute value.
    public func itemMaxAbs() -> [Float] {
        let per = itemCount
        return data.withUnsafeBufferPointer { p in
            (0..<batch).map { i in
                var m: Float = 0
                for j in (i * per)..<((i + 1) * per) { m = Swift.max(m, abs(p[j])) }
                return m
            }
        }
    }

    /// Row-wise argmax of an [N, K] matrix (first index on ties).
    public func argmaxRows() -> [Int] {
        precondition(rank == 2, "Tensor.argmaxRows: rank-2 tensors only")
        let k = shape[1]
        return data.withUnsafeBufferPointer { p in
            (0..<shape[0]).map { i in
                var best = 0
                for j in 1..<Swift.max(k, 1) where p[i * k + j] > p[i * k + best] { best = j }
                return best
            }
        }
    }

    /// Row-wise softmax of an [N, K] matrix, stable (max subtracted first).
    public func softmaxRows() -> Tensor {
        precondition(rank == 2, "Tensor.softmaxRows: rank-2 tensors only")
        let (n, k) = (shape[0], shape[1])
        return Tensor(uninitializedShape: shape) { out in
            data.withUnsafeBufferPointer { p in
                for i in 0..<n {
                    let row = p.baseAddress! + i * k, o = out.baseAddress! + i * k
                    var m = -Float.infinity
                    for j in 0..<k { m = Swift.max(m, row[j]) }
                    var s: Float = 0
                    for j in 0..<k { let e = expf(row[j] - m); o[j] = e; s += e }
                    let inv = 1 / s
                    for j in 0..<k { o[j] *= inv }
                }
            }
        }
    }

    /// Row-wise log-softmax of an [N, K] matrix, stable.
    public func logSoftmaxRows() -> Tensor {
        precondition(rank == 2, "Tensor.logSoftmaxRows: rank-2 tensors only")
        let (n, k) = (shape[0], shape[1])
        return Tensor(uninitializedShape: shape) { out in
            data.withUnsafeBufferPointer { p in
                for i in 0..<n {
                    let row = p.baseAddress! + i * k, o = out.baseAddress! + i * k
                    var m = -Float.infinity
                    for j in 0..<k { m = Swift.max(m, row[j]) }
                    var s: Float = 0
                    for j in 0..<k { s += expf(row[j] - m) }
                    let lse = m + logf(s)
                    for j in 0..<k { o[j] = row[j] - lse }
                }
            }
        }
    }
}

extension Tensor {
    /// Whether every element is a finite number (no NaN, no infinity): one pass, no branches
    /// in the loop (a non-finite value makes the running product of x·0 NaN).
    /// Sixteen independent lanes, so the additions do not wait on each other.
    public var allFinite: Bool {
        data.withUnsafeBufferPointer { p in
            guard let base = p.baseAddress else { return true }
            return Self.combined(p.count, true, { $0 && $1 }) { r in
                var lanes = SIMD16<Float>(repeating: 0)
                var i = r.lowerBound
                let raw = UnsafeRawPointer(base)
                while i + 16 <= r.upperBound {
                    lanes += raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self) * 0
                    i += 16
                }
                var acc = lanes.sum()
                while i < r.upperBound { acc += base[i] * 0; i += 1 }
                return acc == 0
            }
        }
    }
}
