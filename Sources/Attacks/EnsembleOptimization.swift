import Foundation
import Settings
import TensorEngine

/// The paper's targeted attack (Dong et al., after Liu et al. 2017): for each image x and
/// target t, Adam on the image x* minimises
///     -log( Σᵢ aᵢ pᵢ(t | x*) ) + λ ‖x* - x‖₂²
/// keeping x* in the input range (and in the L-inf box of radius epsilon when one is set)
/// after every step. With early stopping a sample stops once the ensemble predicts t.
struct EnsembleOptimizationAttack: AttackMethodDefinition {
    let config: AttackConfig
    let ensemble: Ensemble
    let monitor: AttackMonitor

    static let name: AttackConfig.MethodName = "ensemble-opt"
    static let parameters: Set<AttackConfig.Field> = [.epsilon, .steps, .learningRate, .lambda, .targeted, .target, .targetsPerImage]
    static let norms: [Norm] = [.l2]
    static let targeting = Targeting.always

    static func fillDefaults(_ c: inout AttackConfig) {
        c.steps = c.steps ?? 100
        c.learningRate = c.learningRate ?? 0.01
        c.lambda = c.lambda ?? 0.05
        c.targetsPerImage = c.targetsPerImage ?? 1
    }

    static func run(_ config: AttackConfig, on ensemble: Ensemble, monitor: AttackMonitor, batch: inout AttackBatch) throws -> Bool {
        try Self(config: config, ensemble: ensemble, monitor: monitor).run(&batch)
    }

    func run(_ batch: inout AttackBatch) throws -> Bool {
        let steps = config.steps!, lr = config.learningRate!, lambda = config.lambda!
        let (beta1, beta2, adamEps): (Float, Float, Float) = (0.9, 0.999, 1e-8)
        let runs = ensemble.executions()
        let targets = batch.targets!
        var m = Tensor(shape: batch.clean.shape), v = Tensor(shape: batch.clean.shape)
        var active = batch.active
        for step in 0..<steps {
            guard !active.isEmpty else { break }
            let x = batch.adversarial.gather(active)
            let x0 = batch.clean.gather(active)
            let activeTargets = active.map { targets[$0] }
            let gradient: Tensor, logits: [Tensor]
            do {
                (gradient, logits) = try ensemble.inputGradient(x, runs, stop: monitor.shouldStop) { range, all in
                    AttackLoss.ensembleTargetSeeds(all, weights: ensemble.weights, targets: Array(activeTargets[range])).seeds
                }
            } catch is AttackStopped {
                return true
            }
            let predicted = ensemble.probabilities(logits).argmaxRows()
            var g = gradient
            g.axpy(2 * lambda, x - x0)
            // Adam, one row per active sample, bias-corrected by this step's count.
            let t = Float(step + 1)
            let stepSize = lr / (1 - powf(beta1, t)), bc2 = (1 - powf(beta2, t)).squareRoot()
            let per = batch.item
            var stillActive: [Int] = []
            let fooledNow = batch.count - active.count + active.indices.filter { predicted[$0] == targets[active[$0]] }.count
            for (k, i) in active.enumerated() {
                batch.iterations[i] = step
                if config.earlyStop! && predicted[k] == targets[i] {
                    batch.done[i] = true
                    continue
                }
                stillActive.append(i)
                batch.iterations[i] = step + 1
                for j in 0..<per {
                    let gi = g.data[k * per + j], idx = i * per + j
                    m.data[idx] = beta1 * m.data[idx] + (1 - beta1) * gi
                    v.data[idx] = beta2 * v.data[idx] + (1 - beta2) * gi * gi
                    var value = batch.adversarial.data[idx] - stepSize * m.data[idx] / (v.data[idx].squareRoot() / bc2 + adamEps)
                    if let eps = config.epsilon {
                        let c = batch.clean.data[idx]
                        value = min(max(value, c - eps), c + eps)
                    }
                    batch.adversarial.data[idx] = min(max(value, ensemble.lower), ensemble.upper)
                }
            }
            active = stillActive
            monitor.progress(step + 1, steps, Double(fooledNow) / Double(batch.count))
        }
        return false
    }
}

extension AttackConfig.MethodName { public static let ensembleOpt = EnsembleOptimizationAttack.name }
