import Foundation
import Settings
import TensorEngine

/// The state every attack keeps per sample: the clean image, the current adversarial image,
/// the label and target, whether it already succeeded (and so stops, with early stopping),
/// and how many iterations it took.
struct AttackBatch {
    let clean: Tensor
    var adversarial: Tensor
    let labels: [Int]
    let targets: [Int]?
    var done: [Bool]
    var iterations: [Int]
    /// The ensemble's prediction on each clean image, when a method's first gradient pass
    /// saw it (at the clean image itself): judging the samples then needs no clean forward.
    var cleanPredicted: [Int?]
    let item: Int
    /// Each sample's key and the request's seed: what its random draws derive from (see
    /// `SampleRandomness`), so they do not depend on the batch it is in.
    let keys: [UInt64]
    let seed: UInt64

    /// `keys` nil: each sample's position in the batch.
    init(clean: Tensor, labels: [Int], targets: [Int]?, keys: [UInt64]? = nil, seed: UInt64 = 0) {
        precondition(keys == nil || keys!.count == labels.count, "AttackBatch: \(keys!.count) keys for \(labels.count) samples")
        self.keys = keys ?? (0..<labels.count).map { UInt64($0) }
        self.seed = seed
        self.clean = clean
        adversarial = clean
        self.labels = labels
        self.targets = targets
        done = Array(repeating: false, count: labels.count)
        iterations = Array(repeating: 0, count: labels.count)
        cleanPredicted = Array(repeating: nil, count: labels.count)
        item = clean.itemCount
    }

    var count: Int { labels.count }
    var active: [Int] { (0..<count).filter { !done[$0] } }

    /// The class each sample's loss is about: its target when targeted, else its label.
    func lossClass(_ i: Int) -> Int { targets?[i] ?? labels[i] }

    /// Whether a prediction counts as success for sample i.
    func succeeded(_ i: Int, predicted: Int) -> Bool {
        if let targets { return predicted == targets[i] }
        return predicted != labels[i]
    }

    /// Copies rows `rows` of `values` (a tensor with one row per index) into `target`'s `indices`.
    static func scatter(_ values: Tensor, into target: inout Tensor, at indices: [Int]) {
        let per = target.itemCount
        values.data.withUnsafeBufferPointer { src in
            target.data.withUnsafeMutableBufferPointer { dst in
                for (k, i) in indices.enumerated() {
                    (dst.baseAddress! + i * per).update(from: src.baseAddress! + k * per, count: per)
                }
            }
        }
    }
}

/// Per-sample norms of a perturbation.
func perturbationNorms(_ adversarial: Tensor, _ clean: Tensor) -> (linf: [Float], l2: [Float]) {
    let d = adversarial - clean
    return (d.itemMaxAbs(), d.itemNorms())
}

/// Clamps every element into [lo, hi].
func clip(_ x: inout Tensor, _ lo: Float, _ hi: Float) {
    x.data.withUnsafeMutableBufferPointer { p in
        for i in 0..<p.count { p[i] = min(max(p[i], lo), hi) }
    }
}

/// Projects each row of `x` onto the L-inf ball of radius eps around `center` (same rows).
func projectLinf(_ x: inout Tensor, around center: Tensor, _ eps: Float) {
    x.data.withUnsafeMutableBufferPointer { p in
        center.data.withUnsafeBufferPointer { c in
            for i in 0..<p.count { p[i] = min(max(p[i], c[i] - eps), c[i] + eps) }
        }
    }
}

/// Projects each row of `x` onto the L2 ball of radius eps around `center`.
func projectL2(_ x: inout Tensor, around center: Tensor, _ eps: Float) {
    let per = x.itemCount
    x.data.withUnsafeMutableBufferPointer { p in
        center.data.withUnsafeBufferPointer { c in
            for row in 0..<(p.count / per) {
                var s: Float = 0
                for j in (row * per)..<((row + 1) * per) { let d = p[j] - c[j]; s += d * d }
                let norm = s.squareRoot()
                if norm > eps {
                    let f = eps / norm
                    for j in (row * per)..<((row + 1) * per) { p[j] = c[j] + (p[j] - c[j]) * f }
                }
            }
        }
    }
}

/// Each row of `center` moved to the surface of the ball of `radius` in `norm` along a random
/// direction (L-inf: t/max|t|, t uniform in [-1, 1]; L2: a Gaussian direction), clipped into
/// [lo, hi]: the random starts of APGD (radius epsilon) and FAB's restarts. Row r's direction
/// comes from `generators[r]`.
func randomSurfacePoint(_ center: Tensor, radius: Float, norm: Norm, generators: [SeededRNG], _ lo: Float, _ hi: Float) -> Tensor {
    var t = Tensor(shape: center.shape)
    var generators = generators
    let per = t.itemCount
    for row in 0..<center.batch {
        for i in (row * per)..<((row + 1) * per) {
            t.data[i] = norm == .linf ? generators[row].uniform(-1, 1) : generators[row].nextNormal()
        }
    }
    let scale = norm == .linf ? t.itemMaxAbs() : t.itemNorms()
    var x = center
    for row in 0..<scale.count {
        let f = radius / (scale[row] + 1e-12)
        for j in (row * per)..<((row + 1) * per) { x.data[j] = min(max(x.data[j] + t.data[j] * f, lo), hi) }
    }
    return x
}
