import Foundation
import NN
import TensorEngine

/// The objectives the gradient attacks ascend, as seeds on each member's logits. Each is the
/// gradient of a per-sample objective summed over the batch (so every sample's gradient is
/// its own), weighted by the member's ensemble weight.
///
/// Why not `Loss.crossEntropy`'s float32 `softmax - onehot`: on a confident image
/// (p(label) ≥ 0.999, most of an adversarially trained MNIST model's test set) p_y rounds to 1
/// in float32, so the true class's term `p_y - 1` is rounding noise of the size of the other
/// classes' terms, and the sign of the input gradient is partly random (issue 17, item 6:
/// FGSM left 0.129 robust accuracy on madry-mnist where the exact gradient leaves far less).
/// Here every row is worked in float64 from a log-sum-exp: the other classes' terms are
/// p_j = exp(z_j - lse), exact to float32's relative precision however small, and the true
/// class's term is -Σ_{j≠y} p_j, never 1 minus something near 1. The margin objectives (DLR,
/// C&W) are ratios and differences of logits, so they have no such cancellation; they are
/// worked in float64 too, so all objectives share one path and one test.
enum AttackObjective: Sendable, Equatable {
    /// Cross-entropy of the label, ascended (untargeted).
    case crossEntropy
    /// Minus the cross-entropy of the target, ascended (targeted: raises p(target)).
    case targetedCrossEntropy
    /// Croce & Hein's difference of logits ratio, ascended:
    /// -(z_y - max_{j≠y} z_j) / (z_π1 - z_π3), π the classes by falling logit.
    case dlr
    /// Its targeted form: -(z_y - z_t) / (z_π1 - (z_π3 + z_π4)/2).
    case targetedDLR
    /// Carlini & Wagner's margin, ascended: max_{j≠y} z_j - z_y untargeted, z_t - max_{j≠t} z_j
    /// targeted (no hinge: an attack that ascends it wants every bit of margin).
    case cwMargin(targeted: Bool)

    var isTargeted: Bool {
        switch self {
        case .targetedCrossEntropy, .targetedDLR: return true
        case .cwMargin(let targeted): return targeted
        case .crossEntropy, .dlr: return false
        }
    }
}

enum AttackLoss {
    /// DLR's guard against a zero denominator (Croce & Hein's 1e-12).
    static let dlrGuard = 1e-12

    /// The objective of one row of logits `z` (float64) for label `y` and target `t` (targeted
    /// objectives only), and its gradient with respect to `z`, written into `gradient`.
    static func row(_ objective: AttackObjective, _ z: [Double], label y: Int, target t: Int, gradient: inout [Double]) -> Double {
        let k = z.count
        for j in 0..<k { gradient[j] = 0 }
        switch objective {
        case .crossEntropy, .targetedCrossEntropy:
            let c = objective == .crossEntropy ? y : t
            let m = z.max()!
            var others = 0.0
            for j in 0..<k where j != c { others += exp(z[j] - m) }
            let lse = m + log(exp(z[c] - m) + others)
            var rest = 0.0
            for j in 0..<k where j != c {
                let p = exp(z[j] - lse)
                gradient[j] = p
                rest += p
            }
            gradient[c] = -rest
            // -log p_c = log(1 + Σ_{j≠c} e^{z_j - z_c}): log1p keeps it exact when p_c ≈ 1.
            let ce = z[c] == m ? log1p(others) : lse - z[c]
            if objective == .crossEntropy { return ce }
            for j in 0..<k { gradient[j] = -gradient[j] }
            return -ce
        case .dlr, .targetedDLR:
            let order = (0..<k).sorted { z[$0] > z[$1] || (z[$0] == z[$1] && $0 < $1) }
            let (first, third) = (order[0], order[min(2, k - 1)])
            // Numerator: z_y - z_o (o: the strongest other class, or the target).
            let other = objective == .dlr ? (order[0] == y ? order[1] : order[0]) : t
            let numerator = z[y] - z[other]
            var denominator: Double
            var dDenominator: [(Int, Double)]
            if objective == .dlr {
                denominator = z[first] - z[third]
                dDenominator = [(first, 1), (third, -1)]
            } else {
                let fourth = order[min(3, k - 1)]
                denominator = z[first] - (z[third] + z[fourth]) / 2
                dDenominator = [(first, 1), (third, -0.5), (fourth, -0.5)]
            }
            denominator += dlrGuard
            // f = -N/D: df = -dN/D + N dD/D².
            gradient[y] -= 1 / denominator
            gradient[other] += 1 / denominator
            for (j, d) in dDenominator { gradient[j] += numerator * d / (denominator * denominator) }
            return -numerator / denominator
        case .cwMargin(let targeted):
            let c = targeted ? t : y
            var other = c == 0 ? 1 : 0
            for j in 0..<k where j != c && z[j] > z[other] { other = j }
            if targeted {
                gradient[c] = 1; gradient[other] = -1
                return z[c] - z[other]
            }
            gradient[other] = 1; gradient[c] = -1
            return z[other] - z[c]
        }
    }

    /// The weighted objective Σᵢ aᵢ f(zᵢ) per sample and one logit seed per member (its
    /// gradient, weight applied). `targets` is needed by the targeted objectives only.
    static func seeds(_ objective: AttackObjective, logits: [Tensor], weights: [Float], labels: [Int],
                      targets: [Int]? = nil) -> (loss: [Double], seeds: [Tensor]) {
        let (n, k) = (logits[0].shape[0], logits[0].shape[1])
        precondition(labels.count == n && (targets?.count ?? n) == n, "AttackLoss.seeds: \(labels.count) labels for \(n) rows")
        precondition(!objective.isTargeted || targets != nil, "AttackLoss.seeds: a targeted objective needs targets")
        var loss = [Double](repeating: 0, count: n)
        var z = [Double](repeating: 0, count: k), g = [Double](repeating: 0, count: k)
        let seeds = logits.enumerated().map { i, member -> Tensor in
            let w = Double(weights[i])
            var seed = Tensor(shape: member.shape)
            for s in 0..<n {
                for j in 0..<k { z[j] = Double(member.data[s * k + j]) }
                loss[s] += w * row(objective, z, label: labels[s], target: targets?[s] ?? labels[s], gradient: &g)
                for j in 0..<k { seed.data[s * k + j] = Float(w * g[j]) }
            }
            return seed
        }
        return (loss, seeds)
    }

    /// Cross-entropy of `classes` on member logits z, exactly (see `AttackObjective`), times
    /// the member's weight: what FGSM, BIM, PGD and MI-FGSM ascend (untargeted) or descend
    /// (targeted, `classes` the targets).
    static func crossEntropySeed(_ z: Tensor, _ classes: [Int], weight: Float) -> Tensor {
        seeds(.crossEntropy, logits: [z], weights: [weight], labels: classes).seeds[0]
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
