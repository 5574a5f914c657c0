import Foundation
import Settings
import TensorEngine

/// DeepFool (Moosavi-Dezfooli et al.), L2: at each iterate the classifier (the ensemble's
/// averaged logits Z) is linearised, and the sample moves by the smallest step that crosses
/// the nearest linearised boundary: for k ≠ y, fₖ = Zₖ - Z_y, wₖ = ∇Zₖ - ∇Z_y, k* minimises
/// |fₖ|/‖wₖ‖, r = (|f_k*| + 1e-4) w_k* / ‖w_k*‖². The accumulated step is applied with
/// (1 + overshoot): x' = clip(x + (1 + overshoot)·Σr). A sample stops as soon as its label
/// changes; all samples step together as one batch.
struct DeepFoolAttack: AttackMethodDefinition {
    let config: AttackConfig
    let ensemble: Ensemble
    let monitor: AttackMonitor

    static let name: AttackConfig.MethodName = "deepfool"
    static let parameters: Set<AttackConfig.Field> = [.steps, .overshoot]
    static let norms: [Norm] = [.l2]
    static let targeting = Targeting.never

    static func fillDefaults(_ c: inout AttackConfig) {
        c.steps = c.steps ?? 50
        c.overshoot = c.overshoot ?? 0.02
    }

    static func run(_ config: AttackConfig, on ensemble: Ensemble, monitor: AttackMonitor, batch: inout AttackBatch) throws -> Bool {
        try Self(config: config, ensemble: ensemble, monitor: monitor).run(&batch)
    }

    func run(_ batch: inout AttackBatch) throws -> Bool {
        let runs = ensemble.executions()
        let per = batch.item, k = ensemble.classCount, overshoot = config.overshoot!
        var total = Tensor(shape: batch.clean.shape)
        var active = batch.active
        let steps = config.steps!
        for step in 0..<steps {
            guard !active.isEmpty else { break }
            let x = batch.adversarial.gather(active)
            let z: Tensor, grads: [Tensor]
            do { (z, grads) = try ensemble.classGradients(x, runs, stop: monitor.shouldStop) } catch is AttackStopped { return true }
            let predicted = z.argmaxRows()
            var next: [Int] = []
            for (row, i) in active.enumerated() {
                batch.iterations[i] = step
                if predicted[row] != batch.labels[i] {
                    batch.done[i] = true
                    continue
                }
                let y = batch.labels[i]
                var best = Float.infinity, bestK = -1, bestNorm: Float = 0
                for c in 0..<k where c != y {
                    let f = abs(z.data[row * k + c] - z.data[row * k + y])
                    var s: Float = 0
                    for j in 0..<per { let d = grads[c].data[row * per + j] - grads[y].data[row * per + j]; s += d * d }
                    let norm = s.squareRoot()
                    let distance = f / max(norm, 1e-12)
                    if distance < best { best = distance; bestK = c; bestNorm = norm }
                }
                guard bestK >= 0, bestNorm > 0 else { batch.done[i] = true; continue }
                let f = abs(z.data[row * k + bestK] - z.data[row * k + y])
                let scale = (f + 1e-4) / (bestNorm * bestNorm)
                for j in 0..<per {
                    let idx = i * per + j
                    total.data[idx] += scale * (grads[bestK].data[row * per + j] - grads[y].data[row * per + j])
                    let value = batch.clean.data[idx] + (1 + overshoot) * total.data[idx]
                    batch.adversarial.data[idx] = min(max(value, ensemble.lower), ensemble.upper)
                }
                batch.iterations[i] = step + 1
                next.append(i)
            }
            active = next
            monitor.progress(step + 1, steps, Double(batch.count - active.count) / Double(batch.count))
        }
        return false
    }
}

extension AttackConfig.MethodName { public static let deepfool = DeepFoolAttack.name }
