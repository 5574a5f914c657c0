import TensorEngine

/// Layer normalisation over the last dimensions (`normalized_shape`), as nn.LayerNorm and
/// ONNX LayerNormalization: each item's trailing block is normalised by its own mean and
/// biased variance, then scaled and shifted by `weight` / `bias` of that block's shape (when
/// `elementwise_affine`). The statistics are recomputed from the input in backward rather than
/// kept, which costs one pass and needs no saved state.
public final class LayerNorm: LeafLayer {
    public let name: String
    public var kind: String { "layernorm" }
    public var traceIndex = -1
    public let normalizedShape: [Int]
    public let eps: Float
    public let weight: Parameter?, bias: Parameter?
    public var parameters: [Parameter] { [weight, bias].compactMap { $0 } }

    public init(name: String, normalizedShape: [Int], eps: Float, elementwiseAffine: Bool) {
        self.name = name
        self.normalizedShape = normalizedShape
        self.eps = eps
        weight = elementwiseAffine ? Parameter(name: name + ".weight", value: Tensor(shape: normalizedShape, repeating: 1)) : nil
        bias = elementwiseAffine ? Parameter(name: name + ".bias", value: Tensor(shape: normalizedShape)) : nil
    }

    public func outputShape(_ input: [Int]) throws -> [Int] {
        guard input.count >= normalizedShape.count, Array(input.suffix(normalizedShape.count)) == normalizedShape else {
            throw ModelError.shapeMismatch(layer: name, message: "normalized_shape \(normalizedShape) must be the last dimensions of the input, got \(input) per item")
        }
        return input
    }

    /// Per row of `d` values: mean and 1/sqrt(var + eps), in Double sums.
    private func statistics(_ x: UnsafePointer<Float>, _ d: Int) -> (Float, Float) {
        var s = 0.0
        for j in 0..<d { s += Double(x[j]) }
        let mu = s / Double(d)
        var ss = 0.0
        for j in 0..<d { let v = Double(x[j]) - mu; ss += v * v }
        return (Float(mu), Float(1 / (ss / Double(d) + Double(eps)).squareRoot()))
    }

    public func compute(_ x: Tensor, _ run: Execution) -> (Tensor, SavedState?) {
        let d = normalizedShape.reduce(1, *), rows = x.count / max(d, 1)
        let w = weight?.value.data, b = bias?.value.data
        let y = Tensor(uninitializedShape: x.shape) { out in
            x.data.withUnsafeBufferPointer { xs in
                let xp = xs.baseAddress!, op = out.baseAddress!
                Parallel.forRanges(rows, grain: max(1, 8192 / max(d, 1))) { r in
                    for row in r {
                        let src = xp + row * d, dst = op + row * d
                        let (mu, inv) = statistics(src, d)
                        if let w, let b {
                            for j in 0..<d { dst[j] = (src[j] - mu) * inv * w[j] + b[j] }
                        } else {
                            for j in 0..<d { dst[j] = (src[j] - mu) * inv }
                        }
                    }
                }
            }
        }
        return (y, nil)
    }

    public func gradient(_ dy: Tensor, input x: Tensor, output y: Tensor, saved: SavedState?,
                         _ pass: BackwardPass, needInput: Bool) -> Tensor? {
        let d = normalizedShape.reduce(1, *), rows = x.count / max(d, 1)
        let w = weight?.value.data
        var dw = [Float](repeating: 0, count: weight != nil ? d : 0), db = dw
        var dx = [Float](repeating: 0, count: needInput ? x.count : 0)
        x.data.withUnsafeBufferPointer { xs in
            dy.data.withUnsafeBufferPointer { gs in
                for row in 0..<rows {
                    let src = xs.baseAddress! + row * d, g = gs.baseAddress! + row * d
                    let (mu, inv) = statistics(src, d)
                    if weight != nil && pass.wantParameters {
                        for j in 0..<d { dw[j] += g[j] * (src[j] - mu) * inv; db[j] += g[j] }
                    }
                    guard needInput else { continue }
                    // dx = inv·(ĝ - mean(ĝ) - x̂·mean(ĝ·x̂)) with ĝ = dy·weight.
                    var sg = 0.0, sgx = 0.0
                    for j in 0..<d {
                        let gh = Double(g[j] * (w?[j] ?? 1)), xh = Double((src[j] - mu) * inv)
                        sg += gh
                        sgx += gh * xh
                    }
                    let (a, c) = (sg / Double(d), sgx / Double(d))
                    let base = row * d
                    for j in 0..<d {
                        let gh = Double(g[j] * (w?[j] ?? 1)), xh = Double((src[j] - mu) * inv)
                        dx[base + j] = Float(Double(inv) * (gh - a - xh * c))
                    }
                }
            }
        }
        if let weight, let bias, pass.wantParameters {
            pass.gradients.accumulate(weight, Tensor(shape: normalizedShape, data: dw))
            pass.gradients.accumulate(bias, Tensor(shape: normalizedShape, data: db))
        }
        return needInput ? Tensor(shape: x.shape, data: dx) : nil
    }
}
