import TensorEngine

/// Fully connected layer y = x·Wᵀ + b: weight [out, in], bias [out], over the last dimension
/// of an input of any rank, as nn.Linear ([N, ..., in] -> [N, ..., out]). The forward product
/// and the input gradient run on AdvLens' own GEMM against the weight packed once
/// (`Parameter.packed`), so a sample's outputs and gradient are bit for bit the same whichever
/// batch it comes in, and an attack's hundreds of passes do not re-pack the weight.
public final class Linear: LeafLayer {
    public let name: String
    public var kind: String { "linear" }
    public var traceIndex = -1
    public let inFeatures: Int, outFeatures: Int
    public let weight: Parameter
    public let bias: Parameter?
    public var parameters: [Parameter] { bias.map { [weight, $0] } ?? [weight] }

    public init(name: String, inFeatures: Int, outFeatures: Int, bias: Bool) {
        self.name = name
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        weight = Parameter(name: name + ".weight", value: Tensor(shape: [outFeatures, inFeatures]))
        self.bias = bias ? Parameter(name: name + ".bias", value: Tensor(shape: [outFeatures])) : nil
    }

    public func outputShape(_ input: [Int]) throws -> [Int] {
        guard let last = input.last, last == inFeatures else {
            throw ModelError.shapeMismatch(layer: name, message: "expects \(inFeatures) input features in the last dimension, got shape \(input)"
                + (input.count > 1 && input.reduce(1, *) == inFeatures ? " (add a flatten layer before it)" : ""))
        }
        return Array(input.dropLast()) + [outFeatures]
    }

    public func compute(_ x: Tensor, _ run: Execution) -> (Tensor, SavedState?) {
        let (I, O) = (inFeatures, outFeatures)
        let n = x.count / I   // rows
        var y = Tensor(uninitializedShape: Array(x.shape.dropLast()) + [O]) { out in
            // Start from the bias (or zero) in every row so the GEMM adds onto it (beta 1).
            if let b = bias?.value.data {
                b.withUnsafeBufferPointer { bp in
                    for i in 0..<n { (out.baseAddress! + i * O).update(from: bp.baseAddress!, count: O) }
                }
            } else {
                out.initialize(repeating: 0)
            }
        }
        let w = weight.packed(transposed: true)
        x.data.withUnsafeBufferPointer { xs in
            y.data.withUnsafeMutableBufferPointer { yp in
                w.multiply(m: n, a: xs.baseAddress!, lda: I, beta: 1, c: yp.baseAddress!, ldc: O)
            }
        }
        return (y, nil)
    }

    public func gradient(_ dy: Tensor, input x: Tensor, output y: Tensor, saved: SavedState?,
                         _ pass: BackwardPass, needInput: Bool) -> Tensor? {
        let (I, O) = (inFeatures, outFeatures)
        let n = x.count / I   // rows
        if pass.wantParameters {
            // dW = dYᵀ·X, written whole (beta 0).
            let dW = Tensor(uninitializedShape: [O, I]) { dw in
                dy.data.withUnsafeBufferPointer { d in
                    x.data.withUnsafeBufferPointer { xs in
                        BLAS.sgemm(transA: true, m: O, n: I, k: n, a: d.baseAddress!, lda: O, b: xs.baseAddress!, ldb: I,
                                   c: dw.baseAddress!, ldc: I)
                    }
                }
            }
            pass.gradients.accumulate(weight, dW)
            if let bias {
                var db = Tensor(shape: [O])
                dy.data.withUnsafeBufferPointer { d in
                    db.data.withUnsafeMutableBufferPointer { b in
                        let dp = d.baseAddress!, bp = b.baseAddress!
                        for i in 0..<n {
                            let row = dp + i * O
                            for o in 0..<O { bp[o] += row[o] }
                        }
                    }
                }
                pass.gradients.accumulate(bias, db)
            }
        }
        guard needInput else { return nil }
        let w = weight.packed(transposed: false)
        return Tensor(uninitializedShape: x.shape) { dxp in
            dy.data.withUnsafeBufferPointer { d in
                w.multiply(m: n, a: d.baseAddress!, lda: O, c: dxp.baseAddress!, ldc: I)
            }
        }
    }
}
