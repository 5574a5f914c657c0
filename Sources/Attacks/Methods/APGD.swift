import Foundation
import NN
import Settings
import TensorEngine

/// APGD (Croce & Hein 2020, "Reliable evaluation of adversarial robustness with an ensemble of
/// diverse parameter-free attacks"), L-inf or L2, with the cross-entropy or DLR objective:
/// PGD whose step size needs no tuning. It starts at 2·epsilon and is halved at checkpoints
/// (the first after 22% of the steps, then at gaps shrinking by 3% of the steps down to 6%)
/// whenever the objective rose in at most 75% of the steps since the last checkpoint, or the
/// step was not halved last time and the best objective has not improved since; a halving
/// also moves the iterate back to the best point so far. Every step carries momentum 0.75:
/// x ← P(x + 0.75·(P(x + η·s(∇)) - x) + 0.25·(x - x_previous)), s the sign (L-inf) or the
/// L2-normalised gradient, P the projection onto the ball and the input range.
///
/// Untargeted it ascends CE or DLR of the label; with `targeted` it raises the target (minus
/// the target's CE, or the targeted DLR) and succeeds when the target wins. Restarts run from
/// fresh random points of the ball on the samples not yet successful. A sample's result is its
/// last misclassified iterate when it was ever fooled, else the point of highest objective
/// (with early stopping it stops at its first success).
enum APGDAttack: AttackMethodDefinition {
    static let name: AttackConfig.MethodName = "apgd"
    static let parameters: Set<AttackConfig.Field> = [.norm, .epsilon, .steps, .restarts, .loss, .targeted, .target]
    static let norms: [Norm] = [.linf, .l2]
    static let targeting = Targeting.optional

    static func fillDefaults(_ c: inout AttackConfig) {
        c.epsilon = c.epsilon ?? (c.norm == .l2 ? 2.0 : 0.3)
        c.steps = c.steps ?? 100
        c.restarts = c.restarts ?? 1
        c.loss = c.loss ?? .ce
    }

    static func run(_ config: AttackConfig, on ensemble: Ensemble, monitor: AttackMonitor, batch: inout AttackBatch) throws -> Bool {
        try run(config, on: ensemble, monitor: monitor, batch: &batch, draws: 1)
    }

    /// With `draws` gradients averaged per iteration (AutoAttack's `rand`).
    static func run(_ config: AttackConfig, on ensemble: Ensemble, monitor: AttackMonitor, batch: inout AttackBatch,
                    draws: Int) throws -> Bool {
        let targeted = config.targeted!
        let objective: AttackObjective = switch (config.loss!, targeted) {
        case (.ce, false): .crossEntropy
        case (.ce, true): .targetedCrossEntropy
        case (.dlr, false): .dlr
        case (.dlr, true): .targetedDLR
        }
        var run = APGDRun(config: config, ensemble: ensemble, monitor: monitor, objective: objective,
                          totalIterations: config.steps! * config.restarts!)
        run.draws = draws
        var done = 0
        for restart in 0..<config.restarts! {
            let active = batch.active
            guard !active.isEmpty else { break }
            if try run.run(on: active, lossTargets: batch.targets, batch: &batch, stream: UInt64(restart), iterationsBefore: done) { return true }
            done += config.steps!
        }
        return false
    }
}

extension AttackConfig.MethodName { public static let apgd = APGDAttack.name }

/// One APGD run of `steps` iterations over some of a batch's samples: what APGD's restarts and
/// APGD-T's target classes repeat (see `APGDAttack` for the algorithm).
struct APGDRun {
    let config: AttackConfig
    let ensemble: Ensemble
    let monitor: AttackMonitor
    let objective: AttackObjective
    /// Iterations of the whole attack (restarts × target classes × steps), for progress.
    let totalIterations: Int
    /// Gradient draws averaged per iteration (expectation over transformation, AutoAttack's
    /// `rand` version): for a model without randomness every draw is the same.
    var draws = 1

    /// The checkpoints' spacing in steps: first gap, how much each gap shrinks, smallest gap.
    static func schedule(steps: Int) -> (first: Int, decrease: Int, minimum: Int) {
        let n = Double(steps)
        return (max(Int((0.22 * n).rounded(.up)), 1), max(Int((0.03 * n).rounded(.up)), 1), max(Int((0.06 * n).rounded(.up)), 1))
    }

    /// The momentum of every step after the first, and the share of rising steps below which
    /// the step size is halved (the paper's α and ρ).
    static let momentum: Float = 0.75
    static let risingShare = 0.75

    /// Per-sample state of a run, one row per sample still in it.
    struct State {
        var active: [Int]
        var center: Tensor, x: Tensor, previous: Tensor, gradient: Tensor
        var bestImage: Tensor, bestGradient: Tensor, fooledImage: Tensor
        var fooled: [Bool], bestLoss: [Double], lastLoss: [Double], bestAtLastCheck: [Double]
        var stepSize: [Float], rises: [Int], halvedLastCheck: [Bool]

        /// Keeps only the rows `keep`.
        mutating func keep(_ keep: [Int]) {
            active = keep.map { active[$0] }
            for path in [\State.center, \.x, \.previous, \.gradient, \.bestImage, \.bestGradient, \.fooledImage] {
                self[keyPath: path] = self[keyPath: path].gather(keep)
            }
            fooled = keep.map { fooled[$0] }; bestLoss = keep.map { bestLoss[$0] }; lastLoss = keep.map { lastLoss[$0] }
            bestAtLastCheck = keep.map { bestAtLastCheck[$0] }; stepSize = keep.map { stepSize[$0] }
            rises = keep.map { rises[$0] }; halvedLastCheck = keep.map { halvedLastCheck[$0] }
        }

        /// Writes what every sample reached: its last fooled iterate, else its best point.
        func writeBack(_ batch: inout AttackBatch) {
            var out = bestImage
            let fooledRows = active.indices.filter { fooled[$0] }
            AttackBatch.scatter(fooledImage.gather(fooledRows), into: &out, at: fooledRows)
            AttackBatch.scatter(out, into: &batch.adversarial, at: active)
            for k in fooledRows { batch.done[active[k]] = true }
        }
    }

    /// Objective, gradient and prediction at `x` for samples `active`.
    func evaluate(_ x: Tensor, _ active: [Int], _ batch: AttackBatch, lossTargets: [Int]?,
                  _ runs: [Execution]) throws -> (loss: [Double], gradient: Tensor, predicted: [Int]) {
        var loss = [Double](repeating: 0, count: active.count)
        let labels = active.map { batch.labels[$0] }, targets = lossTargets.map { t in active.map { t[$0] } }
        var sum: Tensor?, lastLogits: [Tensor] = []
        for _ in 0..<draws {
            let (gradient, logits) = try ensemble.inputGradient(x, runs, stop: monitor.shouldStop) { range, all in
                let r = AttackLoss.seeds(objective, logits: all, weights: ensemble.weights, labels: Array(labels[range]),
                                         targets: targets.map { Array($0[range]) })
                for (k, v) in r.loss.enumerated() { loss[range.lowerBound + k] += v / Double(draws) }
                return r.seeds
            }
            if sum == nil { sum = gradient } else { sum!.add(gradient) }
            lastLogits = logits
        }
        if draws > 1 { sum!.scale(1 / Float(draws)) }
        return (loss, sum!, ensemble.probabilities(lastLogits).argmaxRows())
    }

    /// Records successes at the current iterate; with early stopping they leave the run.
    func judge(_ predicted: [Int], _ s: inout State, iteration: Int, _ batch: inout AttackBatch) {
        var keep: [Int] = []
        for (k, i) in s.active.enumerated() {
            batch.iterations[i] = iteration
            if batch.succeeded(i, predicted: predicted[k]) {
                s.fooled[k] = true
                AttackBatch.scatter(s.x.gather([k]), into: &s.fooledImage, at: [k])
                if config.earlyStop! {
                    batch.done[i] = true
                    AttackBatch.scatter(s.x.gather([k]), into: &batch.adversarial, at: [i])
                    continue
                }
            }
            keep.append(k)
        }
        if keep.count < s.active.count { s.keep(keep) }
    }

    /// Runs on samples `indices` of the batch; `lossTargets[i]`, when given, is the class
    /// sample i's targeted objective raises. Samples that succeed are marked done with their
    /// adversarial image written; the others get their best point. Each sample's random start
    /// draws from its own `stream`. True when stopped.
    func run(on indices: [Int], lossTargets: [Int]?, batch: inout AttackBatch, stream: UInt64,
             iterationsBefore: Int) throws -> Bool {
        let eps = config.epsilon!, steps = config.steps!, norm = config.norm!
        let runs = ensemble.executions()
        let center = batch.clean.gather(indices)
        let x = randomSurfacePoint(center, radius: eps, norm: norm, generators: batch.generators(indices, stream: stream),
                                   ensemble.lower, ensemble.upper)
        let first: (loss: [Double], gradient: Tensor, predicted: [Int])
        do { first = try evaluate(x, indices, batch, lossTargets: lossTargets, runs) } catch is AttackStopped { return true }
        let n = indices.count
        var s = State(active: indices, center: center, x: x, previous: x, gradient: first.gradient, bestImage: x,
                      bestGradient: first.gradient, fooledImage: x, fooled: Array(repeating: false, count: n),
                      bestLoss: first.loss, lastLoss: first.loss, bestAtLastCheck: first.loss,
                      stepSize: Array(repeating: 2 * eps, count: n), rises: Array(repeating: 0, count: n),
                      halvedLastCheck: Array(repeating: true, count: n))
        judge(first.predicted, &s, iteration: iterationsBefore, &batch)
        var (checkGap, gapDecrease, minimumGap) = Self.schedule(steps: steps)
        var sinceCheck = 0
        for step in 0..<steps {
            guard !s.active.isEmpty else { break }
            let next = self.step(s.x, previous: s.previous, gradient: s.gradient, center: s.center, stepSize: s.stepSize,
                                 momentum: step == 0 ? 1 : Self.momentum, eps: eps, norm: norm)
            s.previous = s.x
            s.x = next
            let r: (loss: [Double], gradient: Tensor, predicted: [Int])
            do { r = try evaluate(s.x, s.active, batch, lossTargets: lossTargets, runs) } catch is AttackStopped {
                s.writeBack(&batch)
                return true
            }
            s.gradient = r.gradient
            for k in s.active.indices {
                if r.loss[k] > s.lastLoss[k] { s.rises[k] += 1 }
                s.lastLoss[k] = r.loss[k]
                if r.loss[k] > s.bestLoss[k] {
                    s.bestLoss[k] = r.loss[k]
                    AttackBatch.scatter(s.x.gather([k]), into: &s.bestImage, at: [k])
                    AttackBatch.scatter(s.gradient.gather([k]), into: &s.bestGradient, at: [k])
                }
            }
            // Success is judged at the iterate the gradient was taken at, before any move back.
            judge(r.predicted, &s, iteration: iterationsBefore + step + 1, &batch)
            sinceCheck += 1
            if sinceCheck == checkGap {
                // Halve where the objective rose too rarely, or stalled after a kept step size.
                var back: [Int] = []
                for k in s.active.indices {
                    let oscillating = Double(s.rises[k]) <= Double(checkGap) * Self.risingShare
                    let stalled = !s.halvedLastCheck[k] && s.bestAtLastCheck[k] >= s.bestLoss[k]
                    s.halvedLastCheck[k] = oscillating || stalled
                    s.bestAtLastCheck[k] = s.bestLoss[k]
                    s.rises[k] = 0
                    if s.halvedLastCheck[k] { s.stepSize[k] /= 2; back.append(k) }
                }
                if !back.isEmpty {
                    AttackBatch.scatter(s.bestImage.gather(back), into: &s.x, at: back)
                    AttackBatch.scatter(s.bestGradient.gather(back), into: &s.gradient, at: back)
                }
                sinceCheck = 0
                checkGap = max(checkGap - gapDecrease, minimumGap)
            }
            let fooledNow = batch.done.filter { $0 }.count + s.fooled.filter { $0 }.count
            monitor.progress(iterationsBefore + step + 1, totalIterations, Double(fooledNow) / Double(batch.count))
        }
        if !s.active.isEmpty { s.writeBack(&batch) }
        return false
    }

    /// One momentum step from x (see `APGDAttack`).
    func step(_ x: Tensor, previous: Tensor, gradient: Tensor, center: Tensor, stepSize: [Float], momentum a: Float,
              eps: Float, norm: Norm) -> Tensor {
        let per = x.itemCount
        var z = x
        let norms = norm == .l2 ? gradient.itemNorms() : []
        for row in 0..<x.batch {
            let f = norm == .l2 ? stepSize[row] / (norms[row] + 1e-12) : stepSize[row]
            for j in (row * per)..<((row + 1) * per) {
                let g = gradient.data[j]
                z.data[j] += norm == .l2 ? f * g : (g > 0 ? f : (g < 0 ? -f : 0))
            }
        }
        project(&z, center: center, eps: eps, norm: norm)
        var next = x
        for j in 0..<x.count { next.data[j] = x.data[j] + a * (z.data[j] - x.data[j]) + (1 - a) * (x.data[j] - previous.data[j]) }
        project(&next, center: center, eps: eps, norm: norm)
        return next
    }

    func project(_ x: inout Tensor, center: Tensor, eps: Float, norm: Norm) {
        switch norm {
        case .linf: projectLinf(&x, around: center, eps)
        case .l2: projectL2(&x, around: center, eps)
        }
        clip(&x, ensemble.lower, ensemble.upper)
    }
}
