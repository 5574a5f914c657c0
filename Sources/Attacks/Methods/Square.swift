import Foundation
import Settings
import TensorEngine

/// The Square attack (Andriushchenko, Croce, Flammarion and Hein 2020): a score-based black
/// box that never asks for a gradient, only for the model's outputs. Each query changes one
/// random square window of the current best image and keeps the change when the margin
/// objective falls (or the sample is fooled). The window covers a fraction p of the image,
/// p_init halved at the paper's query counts (10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000 of
/// 10,000, rescaled to the budget).
///
/// L-inf: the start is vertical stripes of ±epsilon; a query sets the window, per channel, to
/// the clean image ± epsilon. L2: the start is a grid of the paper's square "η" patterns
/// scaled to radius epsilon; a query moves the perturbation's mass from a second window into
/// the first, adding a fresh ±η there, so the perturbation keeps L2 norm epsilon (before the
/// clip into the input range).
///
/// The objective is the margin log P(label) - max_{j≠label} log P(j) of the ensemble's
/// probabilities (for one model, the logit margin) untargeted, and -log P(target) targeted;
/// success is the judged prediction. `queries` counts every score evaluation of a sample,
/// the start included. Randomness (start, windows, signs) comes from the request's seed and
/// each sample's key: one generator per sample for its whole search (`SampleRandomness`).
enum SquareAttack: AttackMethodDefinition {
    static let name: AttackConfig.MethodName = "square"
    static let parameters: Set<AttackConfig.Field> = [.norm, .epsilon, .queries, .squareFraction, .targeted, .target]
    static let norms: [Norm] = [.linf, .l2]
    static let targeting = Targeting.optional
    /// It only queries predictions: evaluate's masking checks count it as the black-box attack.
    static let usesGradients = false

    static func fillDefaults(_ c: inout AttackConfig) {
        c.epsilon = c.epsilon ?? (c.norm == .l2 ? 2.0 : 0.3)
        c.queries = c.queries ?? 5000
        c.squareFraction = c.squareFraction ?? 0.8
    }

    static func run(_ config: AttackConfig, on ensemble: Ensemble, monitor: AttackMonitor, batch: inout AttackBatch) throws -> Bool {
        let runs = ensemble.executions()
        // The one door to the model: outputs for a batch of images, never a gradient.
        let oracle = { (x: Tensor) throws -> Tensor in
            var parts: [Tensor] = []
            for start in stride(from: 0, to: x.batch, by: 256) {
                let part = x.batch <= 256 ? x : x.slice(start..<min(x.batch, start + 256))
                let z = try ensemble.logits(part, runs)
                parts.append(ensemble.members.count == 1 ? z[0] : ensemble.probabilities(z).map { logf(max($0, 1e-30)) })
            }
            return parts.count == 1 ? parts[0] : Tensor.concatenate(parts)
        }
        return try SquareSearch(config: config, lower: ensemble.lower, upper: ensemble.upper, monitor: monitor).run(&batch, scores: oracle)
    }
}

extension AttackConfig.MethodName { public static let square = SquareAttack.name }

/// The search itself, given only a score function (log-probabilities up to a per-row
/// constant, one row per image): what makes Square a black box.
struct SquareSearch {
    let config: AttackConfig
    let lower: Float, upper: Float
    let monitor: AttackMonitor

    /// p at query `i` of `budget`: the paper's schedule for 10,000 queries, rescaled.
    static func fraction(_ initial: Float, query i: Int, budget: Int) -> Float {
        let t = Int(Double(i) / Double(budget) * 10_000)
        let bounds = [10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000]
        let halvings = bounds.filter { t > $0 }.count
        return initial / Float(1 << halvings)
    }

    /// (margin, objective) per row: success when margin ≤ 0; the search lowers the objective.
    func judge(_ scores: Tensor, _ classes: [Int], targeted: Bool) -> (margin: [Float], objective: [Float]) {
        let k = scores.shape[1]
        var margin: [Float] = [], objective: [Float] = []
        for (row, c) in classes.enumerated() {
            var other = -Float.infinity, m = -Float.infinity
            for j in 0..<k {
                let v = scores.data[row * k + j]
                m = max(m, v)
                if j != c { other = max(other, v) }
            }
            let own = scores.data[row * k + c]
            if targeted {
                // -log softmax(scores)[t], from a log-sum-exp.
                var sum: Double = 0
                for j in 0..<k { sum += exp(Double(scores.data[row * k + j] - m)) }
                margin.append(other - own)
                objective.append(Float(Double(m) + log(sum) - Double(own)))
            } else {
                margin.append(own - other)
                objective.append(own - other)
            }
        }
        return (margin, objective)
    }

    /// Searches for the samples not yet done (an ensemble of attacks may have fooled some).
    func run(_ batch: inout AttackBatch, scores: (Tensor) throws -> Tensor) throws -> Bool {
        let targeted = config.targeted!, eps = config.epsilon!, budget = config.queries!, l2 = config.norm == .l2
        let shape = Array(batch.clean.shape.dropFirst())
        let (c, h, w) = shape.count == 3 ? (shape[0], shape[1], shape[2]) : (1, 1, batch.item)
        let per = batch.item
        let samples = batch.active
        guard !samples.isEmpty else { return false }
        var generators = batch.generators(samples, stream: SampleRandomness.squareStream)   // one per sample, for its whole search
        let clean = batch.clean.gather(samples)
        let classes = samples.map(batch.lossClass)

        var best = l2 ? l2Start(clean, c: c, h: h, w: w, eps: eps, generators: &generators)
                      : linfStart(clean, c: c, h: h, w: w, eps: eps, generators: &generators)
        let first = judge(try scores(best), classes, targeted: targeted)
        var margin = first.margin, objective = first.objective
        for i in samples { batch.iterations[i] = 1 }
        let doneBefore = batch.count - samples.count

        func finish(_ batch: inout AttackBatch) {
            AttackBatch.scatter(best, into: &batch.adversarial, at: samples)
            for (k, i) in samples.enumerated() where margin[k] <= 0 { batch.done[i] = true }
        }

        for query in 1..<max(budget, 1) {
            if monitor.shouldStop() { finish(&batch); return true }
            let active = samples.indices.filter { margin[$0] > 0 || !config.earlyStop! }
            if active.isEmpty { break }
            let p = Self.fraction(config.squareFraction!, query: query - 1, budget: budget)
            var candidate = best.gather(active)
            for (row, k) in active.enumerated() {
                let original = Array(clean.data[(k * per)..<((k + 1) * per)])
                var x = Array(candidate.data[(row * per)..<((row + 1) * per)])
                if l2 {
                    l2Proposal(&x, clean: original, c: c, h: h, w: w, p: p, eps: eps, rng: &generators[k])
                } else {
                    linfProposal(&x, clean: original, c: c, h: h, w: w, p: p, eps: eps, rng: &generators[k])
                }
                candidate.data.replaceSubrange((row * per)..<((row + 1) * per), with: x)
            }
            let r = judge(try scores(candidate), active.map { classes[$0] }, targeted: targeted)
            for (row, k) in active.enumerated() {
                batch.iterations[samples[k]] = query + 1
                if r.objective[row] < objective[k] || (r.margin[row] <= 0 && margin[k] > 0) {
                    objective[k] = min(objective[k], r.objective[row])
                    margin[k] = r.margin[row]
                    AttackBatch.scatter(candidate.gather([row]), into: &best, at: [k])
                }
            }
            monitor.progress(query + 1, budget, Double(doneBefore + margin.filter { $0 <= 0 }.count) / Double(batch.count))
        }
        finish(&batch)
        return false
    }

    // MARK: L-inf

    /// Vertical stripes: every column of every channel moves by ±eps (row n's signs from
    /// `generators[n]`).
    func linfStart(_ clean: Tensor, c: Int, h: Int, w: Int, eps: Float, generators: inout [SeededRNG]) -> Tensor {
        var x = clean
        for n in 0..<clean.batch {
            for ch in 0..<c {
                for col in 0..<w {
                    let d: Float = generators[n].next(below: 2) == 0 ? -eps : eps
                    for r in 0..<h {
                        let idx = ((n * c + ch) * h + r) * w + col
                        x.data[idx] = min(max(x.data[idx] + d, lower), upper)
                    }
                }
            }
        }
        return x
    }

    /// The window's side for fraction p of the pixels (at least `minimum`, at most the image).
    func side(_ p: Float, h: Int, w: Int, minimum: Int) -> Int {
        min(max(Int((Double(p) * Double(h * w)).squareRoot().rounded()), minimum), min(h, w))
    }

    /// One window, per channel set to the clean image ± eps (clipped).
    func linfProposal(_ x: inout [Float], clean: [Float], c: Int, h: Int, w: Int, p: Float, eps: Float, rng: inout SeededRNG) {
        let s = side(p, h: h, w: w, minimum: 1)
        let top = rng.next(below: h - s + 1), left = rng.next(below: w - s + 1)
        for ch in 0..<c {
            let d: Float = rng.next(below: 2) == 0 ? -eps : eps
            for r in top..<(top + s) {
                for col in left..<(left + s) {
                    let idx = (ch * h + r) * w + col
                    x[idx] = min(max(clean[idx] + d, lower), upper)
                }
            }
        }
    }

    // MARK: L2

    /// The paper's η pattern on an s×s window: two rectangles of opposite sign, each a sum of
    /// nested squares weighted 1/(ring+1)², unit L2 norm, transposed half the time.
    static func eta(_ s: Int, transpose: Bool) -> [Float] {
        func rectangles(_ rows: Int, _ cols: Int) -> [Double] {
            var d = [Double](repeating: 0, count: rows * cols)
            var (r0, c0) = (rows / 2, cols / 2)
            for ring in 0..<max(rows / 2 + 1, cols / 2 + 1) {
                for r in max(r0, 0)..<max(min(r0 + 2 * ring + 1, rows), max(r0, 0)) {
                    for col in max(c0, 0)..<max(min(c0 + 2 * ring + 1, cols), max(c0, 0)) {
                        d[r * cols + col] += 1 / Double((ring + 1) * (ring + 1))
                    }
                }
                r0 -= 1; c0 -= 1
            }
            let norm = d.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return d.map { $0 / max(norm, 1e-12) }
        }
        let topRows = s / 2
        var d = rectangles(topRows, s) + rectangles(s - topRows, s).map { -$0 }
        let norm = d.reduce(0) { $0 + $1 * $1 }.squareRoot()
        d = d.map { $0 / max(norm, 1e-12) }
        if transpose {
            var t = d
            for r in 0..<s { for col in 0..<s { t[col * s + r] = d[r * s + col] } }
            d = t
        }
        return d.map(Float.init)
    }

    /// A grid of η squares (side h/5) with random signs, scaled to L2 norm eps (row n's draws
    /// from `generators[n]`).
    func l2Start(_ clean: Tensor, c: Int, h: Int, w: Int, eps: Float, generators: inout [SeededRNG]) -> Tensor {
        let per = clean.itemCount
        var x = clean
        let s = max(h / 5, 1), margin = (h - s * 5) / 2
        for n in 0..<clean.batch {
            var delta = [Float](repeating: 0, count: per)
            var top = margin
            for _ in 0..<(h / s) {
                var left = margin
                for _ in 0..<(w / s) {
                    let pattern = Self.eta(s, transpose: generators[n].next(below: 2) == 1)
                    for ch in 0..<c {
                        let sign: Float = generators[n].next(below: 2) == 0 ? -1 : 1
                        for r in 0..<s where top + r < h {
                            for col in 0..<s where left + col < w { delta[(ch * h + top + r) * w + left + col] += sign * pattern[r * s + col] }
                        }
                    }
                    left += s
                }
                top += s
            }
            let norm = delta.reduce(0) { $0 + $1 * $1 }.squareRoot()
            for j in 0..<per { x.data[n * per + j] = min(max(clean.data[n * per + j] + delta[j] * eps / max(norm, 1e-12), lower), upper) }
        }
        return x
    }

    /// Moves the perturbation's mass in a second window into a first, with a fresh ±η there,
    /// then rescales the whole perturbation to L2 norm eps and clips.
    func l2Proposal(_ x: inout [Float], clean: [Float], c: Int, h: Int, w: Int, p: Float, eps: Float, rng: inout SeededRNG) {
        var s = side(p, h: h, w: w, minimum: 3)
        if s % 2 == 0 { s = s < min(h, w) ? s + 1 : s - 1 }
        var delta = zip(x, clean).map { $0 - $1 }
        let (top1, left1) = (rng.next(below: h - s + 1), rng.next(below: w - s + 1))
        let (top2, left2) = (rng.next(below: h - s + 1), rng.next(below: w - s + 1))
        func inWindow(_ r: Int, _ col: Int, _ top: Int, _ left: Int) -> Bool { r >= top && r < top + s && col >= left && col < left + s }
        let imageNorm2 = delta.reduce(0) { $0 + $1 * $1 }
        var windowsNorm2: Float = 0
        for ch in 0..<c {
            for r in 0..<h {
                for col in 0..<w where inWindow(r, col, top1, left1) || inWindow(r, col, top2, left2) {
                    let v = delta[(ch * h + r) * w + col]; windowsNorm2 += v * v
                }
            }
        }
        let pattern = Self.eta(s, transpose: rng.next(below: 2) == 1)
        let target = (max(eps * eps - imageNorm2, 0) / Float(c) + windowsNorm2).squareRoot()
        var fresh = [[Float]](repeating: [], count: c)
        for ch in 0..<c {
            var old = [Float](repeating: 0, count: s * s), oldNorm2: Float = 0
            for r in 0..<s { for col in 0..<s { let v = delta[(ch * h + top1 + r) * w + left1 + col]; old[r * s + col] = v; oldNorm2 += v * v } }
            let sign: Float = rng.next(below: 2) == 0 ? -1 : 1
            var window = (0..<(s * s)).map { sign * pattern[$0] + old[$0] / (oldNorm2.squareRoot() + 1e-12) }
            let norm = window.reduce(0) { $0 + $1 * $1 }.squareRoot()
            window = window.map { $0 / (norm + 1e-12) * target }
            fresh[ch] = window
        }
        for ch in 0..<c {
            for r in 0..<s { for col in 0..<s { delta[(ch * h + top2 + r) * w + left2 + col] = 0 } }
        }
        for ch in 0..<c {
            for r in 0..<s { for col in 0..<s { delta[(ch * h + top1 + r) * w + left1 + col] = fresh[ch][r * s + col] } }
        }
        let norm = delta.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let f = eps / (norm + 1e-12)
        for j in 0..<x.count { x[j] = min(max(clean[j] + delta[j] * f, lower), upper) }
    }
}
