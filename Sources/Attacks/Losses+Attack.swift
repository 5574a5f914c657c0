import Foundation
import NN
import TensorEngine

/// The gradient seeds attacks place on each member's logits. Each is the gradient of a
/// per-sample objective summed over the batch (so every sample's gradient is its own),
/// weighted by the member's ensemble weight.
enum AttackLoss {
    /// Cross-entropy of `classes` on member logits z: (softmax(z) - onehot) · weight.
    static func crossEntropySeed(_ z: Tensor, _ classes: [Int], weight: Float) -> Tensor {
        var g = Loss.crossEntropy(logits: z, labels: classes, reduction: .sum).gradient
        if weight != 1 { g.scale(weight) }
        return g
    }

    /// -log Σᵢ aᵢ pᵢ(t): the ensemble-optimization attack's classification term. With
    /// P = Σ aᵢ pᵢ(t), d/dzᵢⱼ = -aᵢ pᵢ(t) (δₜⱼ - pᵢⱼ) / P. Returns per-sample loss values and one
    /// seed per member.
    static func ensembleTargetSeeds(_ logits: [Tensor], weights: [Float], targets: [Int]) -> (loss: [Float], seeds: [Tensor]) {
        let probs = logits.map { $0.softmaxRows() }
        let (n, k) = (logits[0].shape[0], logits[0].shape[1])
        var total = [Float](repeating: 0, count: n)
        for (i, p) in probs.enumerated() {
            for s in 0..<n { total[s] += weights[i] * p.data[s * k + targets[s]] }
        }
        let seeds = probs.enumerated().map { i, p -> Tensor in
            var g = Tensor(shape: p.shape)
            for s in 0..<n {
                let pt = p.data[s * k + targets[s]]
                let scale = -weights[i] * pt / max(total[s], 1e-30)
                for j in 0..<k { g.data[s * k + j] = scale * ((j == targets[s] ? 1 : 0) - p.data[s * k + j]) }
            }
            return g
        }
        return (total.map { -logf(max($0, 1e-30)) }, seeds)
    }
}
