import Foundation
import Settings
import TensorEngine

/// FAB-T (Croce & Hein 2020, "Minimally distorted adversarial examples with a fast adaptive
/// boundary attack", targeted as in AutoAttack), L-inf or L2: a minimum-norm attack. Toward a
/// target class t it linearises the decision boundary between the label y and t at the
/// current iterate x (the hyperplane where Z_y − Z_t, on the ensemble's averaged logits,
/// reaches 0), projects both x and the clean image x₀ onto that hyperplane intersected with
/// the input box (the smallest step in the attack's norm), and moves to the convex combination
/// (1 − α)(x + η·d_x) + α(x₀ + η·d₀), α = min(‖d_x‖ / (‖d_x‖ + ‖d₀‖), α_max): biased toward the
/// clean image, so the adversarials it finds stay small. Once misclassified, the iterate is
/// kept if smaller than the best so far and pulled back toward x₀ by β. The paper's constants:
/// α_max 0.1, η 1.05, β 0.9.
///
/// It runs over the `targetClasses` classes the clean image ranks highest after its label, each
/// run on the samples not yet fooled within `epsilon`; later restarts start from a random point
/// at half the best norm (or epsilon). A sample succeeds when its smallest adversarial lies
/// within `epsilon` (then that image is its result); otherwise it keeps its clean image.
enum FABTargetedAttack: AttackMethodDefinition {
    static let name: AttackConfig.MethodName = "fab-t"
    static let parameters: Set<AttackConfig.Field> = [.norm, .epsilon, .steps, .restarts, .targetClasses]
    static let norms: [Norm] = [.linf, .l2]
    static let targeting = Targeting.never

    static let alphaMax: Double = 0.1, eta: Float = 1.05, beta: Float = 0.9

    static func fillDefaults(_ c: inout AttackConfig) {
        c.epsilon = c.epsilon ?? (c.norm == .l2 ? 2.0 : 0.3)
        c.steps = c.steps ?? 100
        c.restarts = c.restarts ?? 1
        c.targetClasses = c.targetClasses ?? 9
    }

    static func run(_ config: AttackConfig, on ensemble: Ensemble, monitor: AttackMonitor, batch: inout AttackBatch) throws -> Bool {
        let classes = config.targetClasses!
        let ranked = try Attack.classesByCleanLogit(ensemble, batch, taking: classes)
        let runs = ensemble.executions()
        let (eps, steps, norm, per) = (config.epsilon!, config.steps!, config.norm!, batch.item)
        let total = classes * config.restarts! * steps
        var done = 0
        for rank in 0..<classes {
            for restart in 0..<config.restarts! {
                let active = batch.active
                guard !active.isEmpty else { return false }
                let x0 = batch.clean.gather(active)
                var x = x0
                var bestNorm = [Float](repeating: .infinity, count: active.count)
                var best = x0
                if restart > 0 {
                    // A random start at half of min(best norm, epsilon): every sample here has none yet.
                    let stream = UInt64(rank * config.restarts! + restart)
                    x = randomSurfacePoint(x0, radius: eps / 2, norm: norm, generators: batch.generators(active, stream: stream),
                                           ensemble.lower, ensemble.upper)
                }
                let targets = active.map { ranked[$0][rank] }
                for step in 0..<steps {
                    let labels = active.map { batch.labels[$0] }
                    let gradient: Tensor, logits: [Tensor]
                    do {
                        (gradient, logits) = try ensemble.inputGradient(x, runs, stop: monitor.shouldStop) { range, all in
                            let k = ensemble.classCount
                            return ensemble.weights.map { w in
                                var seed = Tensor(shape: [range.count, k])
                                for (row, s) in range.enumerated() {
                                    seed.data[row * k + labels[s]] = w
                                    seed.data[row * k + targets[s]] = -w
                                }
                                return seed
                            }
                        }
                    } catch is AttackStopped {
                        keep(best, bestNorm, active, eps: eps, &batch)
                        return true
                    }
                    let z = ensemble.averagedLogits(logits)
                    let k = ensemble.classCount
                    var next = x
                    for row in 0..<active.count {
                        // The hyperplane w·u = b: Z_y − Z_t linearised at x, zero on the boundary.
                        let w = Array(gradient.data[(row * per)..<((row + 1) * per)])
                        let xi = Array(x.data[(row * per)..<((row + 1) * per)])
                        let oi = Array(x0.data[(row * per)..<((row + 1) * per)])
                        let f = Double(z.data[row * k + labels[row]] - z.data[row * k + targets[row]])
                        var wx = 0.0
                        for j in 0..<per { wx += Double(w[j]) * Double(xi[j]) }
                        let b = wx - f
                        let d1 = BoxedHyperplane.project(xi, w: w, b: b, norm: norm, lower: ensemble.lower, upper: ensemble.upper)
                        let d2 = BoxedHyperplane.project(oi, w: w, b: b, norm: norm, lower: ensemble.lower, upper: ensemble.upper)
                        let a1 = max(normOf(d1, norm), 1e-8), a2 = max(normOf(d2, norm), 1e-8)
                        let alpha = Float(min(max(a1 / (a1 + a2), 0), alphaMax))
                        for j in 0..<per {
                            let v = (xi[j] + eta * d1[j]) * (1 - alpha) + (oi[j] + eta * d2[j]) * alpha
                            next.data[row * per + j] = min(max(v, ensemble.lower), ensemble.upper)
                        }
                    }
                    x = next
                    let predicted = try ensemble.predict(x, runs).classes
                    for row in 0..<active.count where predicted[row] != labels[row] {
                        var n: Float = 0
                        for j in 0..<per {
                            let d = abs(x.data[row * per + j] - x0.data[row * per + j])
                            n = norm == .linf ? max(n, d) : n + d * d
                        }
                        if norm == .l2 { n = n.squareRoot() }
                        if n < bestNorm[row] {
                            bestNorm[row] = n
                            AttackBatch.scatter(x.gather([row]), into: &best, at: [row])
                        }
                        for j in 0..<per {
                            let idx = row * per + j
                            x.data[idx] = x0.data[idx] + (x.data[idx] - x0.data[idx]) * beta
                        }
                    }
                    for i in active { batch.iterations[i] = done + step + 1 }
                    let fooled = batch.done.filter { $0 }.count + bestNorm.filter { $0 <= eps }.count
                    monitor.progress(done + step + 1, total, Double(fooled) / Double(batch.count))
                }
                keep(best, bestNorm, active, eps: eps, &batch)
                done += steps
            }
        }
        return false
    }

    /// Samples whose smallest adversarial lies within eps take it and are done.
    static func keep(_ best: Tensor, _ bestNorm: [Float], _ active: [Int], eps: Float, _ batch: inout AttackBatch) {
        for (row, i) in active.enumerated() where bestNorm[row] <= eps * (1 + 1e-6) {
            AttackBatch.scatter(best.gather([row]), into: &batch.adversarial, at: [i])
            batch.done[i] = true
        }
    }

    static func normOf(_ d: [Float], _ norm: Norm) -> Double {
        norm == .linf ? Double(d.map(abs).max() ?? 0) : d.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
    }
}

extension AttackConfig.MethodName { public static let fabT = FABTargetedAttack.name }
