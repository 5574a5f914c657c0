import Foundation
import Settings
import TensorEngine

/// FGSM, BIM (I-FGSM), PGD (L-inf and L2, random start, restarts) and MI-FGSM: steps along
/// the gradient of the cross-entropy (averaged over ensemble members' losses), ascending it
/// for untargeted attacks and descending the target's for targeted ones, each iterate
/// projected onto the epsilon ball and clipped into the input range.
///
/// Definitions follow torchattacks so figures compare: PGD's L-inf random start is uniform
/// in [-eps, eps]; its L2 start is a Gaussian direction scaled to a radius uniform in
/// [0, eps]; L2 steps move alpha along g/‖g‖₂; MI-FGSM accumulates g ← μg + ∇/mean|∇| and steps
/// alpha·sign(g). With early stopping a sample stops moving once it succeeds (judged on the
/// logits each iteration computes anyway), so the work shrinks as samples fall.
struct GradientAttack {
    /// How an iterate moves: FGSM's one full step of epsilon, MI-FGSM's momentum sign step,
    /// or BIM/PGD's projected step of stepSize in the config's norm.
    enum Rule { case fullStep, momentum, projected }

    let config: AttackConfig
    let rule: Rule
    let ensemble: Ensemble
    let monitor: AttackMonitor

    func run(_ batch: inout AttackBatch) throws -> Bool {
        let eps = config.epsilon!, steps = config.steps!
        let restarts = config.restarts ?? 1
        let runs = ensemble.executions()
        let totalIterations = steps * restarts
        var iterationCount = 0
        for restart in 0..<restarts {
            var active = batch.active
            guard !active.isEmpty else { break }
            // The iterate of this restart for the active samples.
            let start = batch.clean.gather(active)
            var x = start
            if config.randomStart == true {
                randomStart(&x, eps: eps, generators: batch.generators(active, stream: UInt64(restart)))
                clip(&x, ensemble.lower, ensemble.upper)
            }
            var momentum = Tensor(shape: x.shape)
            var center = start
            for step in 0..<steps {
                let classes = active.map(batch.lossClass)
                let gradient: Tensor, logits: [Tensor]
                do {
                    (gradient, logits) = try ensemble.inputGradient(x, runs, stop: monitor.shouldStop) { range, all in
                        all.enumerated().map { i, z in AttackLoss.crossEntropySeed(z, Array(classes[range]), weight: ensemble.weights[i]) }
                    }
                } catch is AttackStopped {
                    // Keep where every sample got to: the best so far.
                    AttackBatch.scatter(x, into: &batch.adversarial, at: active)
                    return true
                }
                // Samples already successful at this iterate stop here (their iterate is kept).
                let predicted = ensemble.probabilities(logits).argmaxRows()
                if restart == 0 && step == 0 && config.randomStart != true { for (k, i) in active.enumerated() { batch.cleanPredicted[i] = predicted[k] } }
                var keep: [Int] = []
                var fooledNow = batch.count - active.count
                for (k, i) in active.enumerated() {
                    if batch.succeeded(i, predicted: predicted[k]) { fooledNow += 1 }
                    batch.iterations[i] = restart * steps + step
                    if batch.succeeded(i, predicted: predicted[k]) && config.earlyStop! {
                        batch.done[i] = true
                        AttackBatch.scatter(x.gather([k]), into: &batch.adversarial, at: [i])
                    } else {
                        keep.append(k)
                    }
                }
                if keep.count < active.count {
                    active = keep.map { active[$0] }
                    if active.isEmpty { break }
                    x = x.gather(keep)
                    center = center.gather(keep)
                    momentum = momentum.gather(keep)
                    var g = gradient.gather(keep)
                    update(&x, &g, &momentum, center: center, eps: eps)
                } else {
                    var g = gradient
                    update(&x, &g, &momentum, center: center, eps: eps)
                }
                for i in active { batch.iterations[i] = restart * steps + step + 1 }
                iterationCount += 1
                monitor.progress(iterationCount, totalIterations, Double(fooledNow) / Double(batch.count))
            }
            // What is left active ends this restart at its last iterate; a later restart
            // replaces it only if that one succeeds (checked by the caller's final pass).
            if !active.isEmpty { AttackBatch.scatter(x, into: &batch.adversarial, at: active) }
            if restart < restarts - 1 {
                // Judge the survivors now so the next restart only works on failures.
                let (predicted, _) = try ensemble.predict(batch.adversarial.gather(active), runs)
                for (k, i) in active.enumerated() where batch.succeeded(i, predicted: predicted[k]) { batch.done[i] = true }
            }
        }
        return false
    }

    /// One step from gradient g (ascending for untargeted, descending for targeted), then the
    /// projection onto the epsilon ball around the clean image and the input range.
    private func update(_ x: inout Tensor, _ g: inout Tensor, _ momentum: inout Tensor, center: Tensor, eps: Float) {
        let direction: Float = config.targeted! ? -1 : 1
        switch (rule, config.norm!) {
        case (.fullStep, _):
            x.axpy(direction * eps, g.map { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) })
        case (.momentum, _):
            // g ← μ·g + ∇ / mean|∇| per sample, then a sign step.
            let per = g.itemCount
            let mu = config.decay!
            g.data.withUnsafeMutableBufferPointer { gp in
                momentum.data.withUnsafeMutableBufferPointer { m in
                    for row in 0..<(gp.count / per) {
                        var s: Float = 0
                        for j in (row * per)..<((row + 1) * per) { s += abs(gp[j]) }
                        let inv = 1 / max(s / Float(per), 1e-12)
                        for j in (row * per)..<((row + 1) * per) { m[j] = mu * m[j] + gp[j] * inv }
                    }
                }
            }
            x.axpy(direction * config.stepSize!, momentum.map { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) })
            projectLinf(&x, around: center, eps)
        case (.projected, .linf):
            x.axpy(direction * config.stepSize!, g.map { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) })
            projectLinf(&x, around: center, eps)
        case (.projected, .l2):
            let norms = g.itemNorms()
            let per = g.itemCount
            g.data.withUnsafeMutableBufferPointer { gp in
                for row in 0..<norms.count {
                    let f = 1 / (norms[row] + 1e-10)
                    for j in (row * per)..<((row + 1) * per) { gp[j] *= f }
                }
            }
            x.axpy(direction * config.stepSize!, g)
            projectL2(&x, around: center, eps)
        }
        clip(&x, ensemble.lower, ensemble.upper)
    }

    /// Row r's start draws from `generators[r]` (its sample's stream for this restart).
    private func randomStart(_ x: inout Tensor, eps: Float, generators: [SeededRNG]) {
        var generators = generators
        let per = x.itemCount
        switch config.norm! {
        case .linf:
            x.data.withUnsafeMutableBufferPointer { p in
                for row in 0..<generators.count {
                    for i in (row * per)..<((row + 1) * per) { p[i] += generators[row].uniform(-eps, eps) }
                }
            }
        case .l2:
            var delta = Tensor(shape: x.shape)
            for row in 0..<generators.count {
                for i in (row * per)..<((row + 1) * per) { delta.data[i] = generators[row].nextNormal() }
            }
            let norms = delta.itemNorms()
            for row in 0..<norms.count {
                let radius = generators[row].nextFloat() * eps
                let f = radius / max(norms[row], 1e-12)
                for j in (row * per)..<((row + 1) * per) { x.data[j] += delta.data[j] * f }
            }
        }
    }
}
