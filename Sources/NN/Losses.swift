import Foundation
import TensorEngine

/// How per-sample losses combine into one value (and how the gradient is scaled).
public enum Reduction: String, Sendable, Codable {
    /// Average over the batch: the gradient of each sample is divided by N.
    case mean
    /// Sum over the batch: each sample's gradient is its own (what attacks use).
    case sum
}

/// A loss value, each sample's part of it, and its gradient with respect to the first input.
public struct LossResult: Sendable {
    public var value: Float
    public var perSample: [Float]
    public var gradient: Tensor
}

/// The losses of the engine, each with its gradient written beside it. Logits are [N, K];
/// labels must lie in 0..<K (callers validate input at their boundary).
public enum Loss {
    private static func reduce(_ perSample: [Float], _ r: Reduction) -> (Float, Float) {
        let total = perSample.reduce(0, +)
        let n = Float(max(perSample.count, 1))
        return r == .mean ? (total / n, 1 / n) : (total, 1)
    }

    /// Softmax cross-entropy: -log softmax(z)[y] per sample.
    /// Gradient: softmax(z) - onehot(y) per sample.
    public static func crossEntropy(logits z: Tensor, labels: [Int], reduction: Reduction = .mean) -> LossResult {
        let (n, k) = (z.shape[0], z.shape[1])
        precondition(labels.count == n, "Loss.crossEntropy: \(labels.count) labels for \(n) rows")
        let logp = z.logSoftmaxRows()
        let perSample = (0..<n).map { -logp.data[$0 * k + labels[$0]] }
        let (value, scale) = reduce(perSample, reduction)
        var grad = logp
        grad.data.withUnsafeMutableBufferPointer { g in
            for i in 0..<n {
                for j in 0..<k { g[i * k + j] = expf(g[i * k + j]) * scale }
                g[i * k + labels[i]] -= scale
            }
        }
        return LossResult(value: value, perSample: perSample, gradient: grad)
    }

    /// Carlini & Wagner's margin (their f6), to minimise.
    /// Untargeted (`labels` = true classes): max(z_y - max_{j≠y} z_j, -κ): positive while the
    /// true class still wins. Targeted (`labels` = targets): max(max_{j≠t} z_j - z_t, -κ).
    /// Gradient: ±1 at the two competing logits while the margin is above -κ, else 0; at
    /// ties for the strongest other class the first index is taken.
    public static func cwMargin(logits z: Tensor, labels: [Int], targeted: Bool, kappa: Float = 0,
                                reduction: Reduction = .sum) -> LossResult {
        let (n, k) = (z.shape[0], z.shape[1])
        precondition(labels.count == n, "Loss.cwMargin: \(labels.count) labels for \(n) rows")
        var perSample = [Float](repeating: 0, count: n)
        var active = [(Int, Int)?](repeating: nil, count: n)   // (index with +1, index with -1)
        z.data.withUnsafeBufferPointer { p in
            for i in 0..<n {
                let c = labels[i], row = p.baseAddress! + i * k
                var other = c == 0 ? 1 : 0
                for j in 0..<k where j != c && row[j] > row[other] { other = j }
                let margin = targeted ? row[other] - row[c] : row[c] - row[other]
                perSample[i] = max(margin, -kappa)
                if margin > -kappa { active[i] = targeted ? (other, c) : (c, other) }
            }
        }
        let (value, scale) = reduce(perSample, reduction)
        var grad = Tensor(shape: z.shape)
        for i in 0..<n {
            if let (plus, minus) = active[i] {
                grad.data[i * k + plus] = scale
                grad.data[i * k + minus] = -scale
            }
        }
        return LossResult(value: value, perSample: perSample, gradient: grad)
    }

    /// Squared feature distance ||a_i - b_i||² per sample (items of any shape).
    /// Gradient with respect to `a`: 2(a - b); with respect to `b` it is the negation.
    public static func squaredDistance(_ a: Tensor, _ b: Tensor, reduction: Reduction = .mean) -> LossResult {
        precondition(a.shape == b.shape, "Loss.squaredDistance: shapes \(a.shape) and \(b.shape) differ")
        let diff = a - b
        let per = diff.itemCount
        let perSample = (0..<diff.batch).map { i in
            diff.data[(i * per)..<((i + 1) * per)].reduce(Float(0)) { $0 + $1 * $1 }
        }
        let (value, scale) = reduce(perSample, reduction)
        return LossResult(value: value, perSample: perSample, gradient: diff * (2 * scale))
    }

    /// KL(softmax(target) ‖ softmax(input)) = Σ_j p_j (log p_j - log q_j) per sample, as TRADES
    /// uses it (PyTorch: kl_div(log_softmax(input), softmax(target)), `.mean` = 'batchmean').
    /// `gradient` is with respect to the input logits: q - p. `targetGradient` is with respect
    /// to the target logits: p_k (a_k - KL) with a_k = log p_k - log q_k.
    public static func klDivergence(target: Tensor, input: Tensor, reduction: Reduction = .mean) -> (LossResult, targetGradient: Tensor) {
        precondition(target.shape == input.shape, "Loss.klDivergence: shapes \(target.shape) and \(input.shape) differ")
        let (n, k) = (input.shape[0], input.shape[1])
        let logp = target.logSoftmaxRows(), logq = input.logSoftmaxRows()
        var perSample = [Float](repeating: 0, count: n)
        for i in 0..<n {
            var s: Float = 0
            for j in 0..<k { let lp = logp.data[i * k + j]; s += expf(lp) * (lp - logq.data[i * k + j]) }
            perSample[i] = s
        }
        let (value, scale) = reduce(perSample, reduction)
        var gInput = Tensor(shape: input.shape), gTarget = Tensor(shape: input.shape)
        for i in 0..<n {
            for j in 0..<k {
                let idx = i * k + j
                let p = expf(logp.data[idx]), q = expf(logq.data[idx])
                gInput.data[idx] = (q - p) * scale
                gTarget.data[idx] = p * (logp.data[idx] - logq.data[idx] - perSample[i]) * scale
            }
        }
        return (LossResult(value: value, perSample: perSample, gradient: gInput), gTarget)
    }
}
