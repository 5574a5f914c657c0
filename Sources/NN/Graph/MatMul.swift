import TensorEngine

/// numpy/ONNX MatMul of two graph values: the last two dimensions multiply as matrices, the
/// dimensions before them broadcast (a [N, H, T, D] query times a [N, H, D, T] key is one
/// product per item and head); a 1-D operand is a vector (promoted to a matrix and the
/// promoted dimension dropped from the result). A weight times a [N, T, F] value is one
/// GEMM over all N·T rows.
public final class MatMul: GraphOperator {
    public let name: String
    public var kind: String { "matmul" }
    public var traceIndex = -1
    public var arity: ClosedRange<Int> { 2...2 }

    public init(name: String) { self.name = name }

    /// The operands' shapes as matrices (rank >= 2), and the result's shape before and after
    /// dropping promoted dimensions.
    struct Geometry {
        var a: [Int], b: [Int]
        var batch: [Int]
        var m: Int, k: Int, n: Int
        var result: [Int]
    }

    static func geometry(_ sa: [Int], _ sb: [Int]) -> Geometry? {
        guard !sa.isEmpty, !sb.isEmpty else { return nil }
        let a = sa.count == 1 ? [1] + sa : sa
        let b = sb.count == 1 ? sb + [1] : sb
        let (m, k, k2, n) = (a[a.count - 2], a[a.count - 1], b[b.count - 2], b[b.count - 1])
        guard k == k2, let batch = GraphShape.broadcast(Array(a.dropLast(2)), Array(b.dropLast(2))) else { return nil }
        var result = batch
        if sa.count > 1 { result.append(m) }
        if sb.count > 1 { result.append(n) }
        return Geometry(a: a, b: b, batch: batch, m: m, k: k, n: n, result: result)
    }

    public func outputShape(inputs: [[Int]]) throws -> [Int] {
        let (sa, sb) = (inputs[0], inputs[1])
        guard let g = Self.geometry(sa, sb), g.k != GraphShape.batch else {
            throw ModelError.shapeMismatch(layer: name, message: "cannot multiply \(GraphShape.describe(sa)) by \(GraphShape.describe(sb)) (the last dimension of the first must equal the second-to-last of the second, not the batch, and the dimensions before must broadcast)")
        }
        return try GraphShape.checkBatchFirst(g.result, name)
    }

    private static func geometry(_ a: Tensor, _ b: Tensor) -> Geometry {
        guard let g = geometry(a.shape, b.shape) else {
            preconditionFailure("MatMul: shapes \(a.shape) and \(b.shape) do not multiply (the graph checks them when built)")
        }
        return g
    }

    public func compute(_ inputs: [Tensor], _ run: Execution) -> Tensor {
        let g = Self.geometry(inputs[0], inputs[1])
        let y = Self.product(inputs[0].data, g.a, false, inputs[1].data, g.b, false, batch: g.batch, m: g.m, n: g.n, k: g.k)
        return y.reshaped(g.result)
    }

    public func gradients(_ dy: Tensor, inputs: [Tensor], output: Tensor, _ pass: BackwardPass, need: [Bool]) -> [Tensor?] {
        let (a, b) = (inputs[0], inputs[1])
        let g = Self.geometry(a, b)
        let dyShape = g.batch + [g.m, g.n]
        var da: Tensor?, db: Tensor?
        if need[0] {
            // dA = dY · Bᵀ, summed over the batch dimensions A was broadcast along.
            let full = Self.product(dy.data, dyShape, false, b.data, g.b, true, batch: g.batch, m: g.m, n: g.k, k: g.n)
            da = BroadcastLoops.reduce(full, to: g.a).reshaped(a.shape)
        }
        if need[1] {
            // dB = Aᵀ · dY, likewise.
            if g.b.count == 2 {
                // B has no batch dimensions: one product over every row of A (expanded to the
                // full batch when it was broadcast) and of dY.
                let rows = g.batch.reduce(1, *) * g.m
                var aRows = a.data
                if g.a.dropLast(2).reduce(1, *) != g.batch.reduce(1, *) {
                    let full = g.batch + [g.m, g.k]
                    aRows = BroadcastLoops.apply(Tensor(shape: g.a, data: a.data), Tensor.zeros(full), out: full, First.self).data
                }
                db = Self.product(aRows, [rows, g.k], true, dy.data, [rows, g.n], false, batch: [], m: g.k, n: g.n, k: rows).reshaped(b.shape)
            } else {
                let full = Self.product(a.data, g.a, true, dy.data, dyShape, false, batch: g.batch, m: g.k, n: g.n, k: g.m)
                db = BroadcastLoops.reduce(full, to: g.b).reshaped(b.shape)
            }
        }
        return [da, db]
    }

    /// Batched C = op(A)·op(B) with broadcast batch dimensions: `sa`, `sb` are the stored
    /// shapes (rank >= 2) of A and B; op transposes the last two dimensions when asked. The
    /// result has shape batch + [m, n].
    static func product(_ a: [Float], _ sa: [Int], _ ta: Bool, _ b: [Float], _ sb: [Int], _ tb: Bool,
                        batch: [Int], m: Int, n: Int, k: Int) -> Tensor {
        let count = batch.reduce(1, *)
        let (ra, ca) = (sa[sa.count - 2], sa[sa.count - 1]), (rb, cb) = (sb[sb.count - 2], sb[sb.count - 1])
        let aBatch = Array(sa.dropLast(2)), bBatch = Array(sb.dropLast(2))
        return Tensor(uninitializedShape: batch + [m, n]) { c in
            a.withUnsafeBufferPointer { ap in
                b.withUnsafeBufferPointer { bp in
                    if bBatch.reduce(1, *) == 1, aBatch.reduce(1, *) == count, !ta {
                        // B shared by every batch entry: A's matrices stacked are one [count·m, k] matrix,
                        // on AdvLens' own GEMM so a sample's rows do not depend on the batch around it.
                        BLAS.sgemmRows(transB: tb, m: count * m, n: n, k: k, a: ap.baseAddress!, lda: ca, b: bp.baseAddress!, ldb: cb,
                                       c: c.baseAddress!, ldc: n)
                        return
                    }
                    let strideA = BroadcastLoops.strides(aBatch, in: batch), strideB = BroadcastLoops.strides(bBatch, in: batch)
                    for i in 0..<count {
                        var rest = i, oa = 0, ob = 0
                        for d in stride(from: batch.count - 1, through: 0, by: -1) {
                            let j = rest % batch[d]
                            rest /= batch[d]
                            oa += j * strideA[d]
                            ob += j * strideB[d]
                        }
                        BLAS.sgemm(transA: ta, transB: tb, m: m, n: n, k: k, a: ap.baseAddress! + oa * ra * ca, lda: ca,
                                   b: bp.baseAddress! + ob * rb * cb, ldb: cb, c: c.baseAddress! + i * m * n, ldc: n)
                    }
                }
            }
        }
    }
}
