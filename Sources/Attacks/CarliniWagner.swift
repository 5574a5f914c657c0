import Foundation
import Settings
import NN
import TensorEngine

/// Carlini & Wagner's L2 attack: x' = lo + span·(tanh(w) + 1)/2 keeps images in range by
/// construction; Adam on w minimises ‖x' - x‖₂² + c·f(x') with f their margin (Loss.cwMargin,
/// confidence κ) on the ensemble's averaged logits. The best (smallest-L2) successful image
/// per sample is kept; samples never successful keep their clean image. With
/// `binarySearchSteps` > 1, c is searched per sample (halved toward success, raised tenfold
/// or bisected after failure), as in the original; with 1 (the default, as torchattacks) c
/// stays fixed. Like torchattacks, a round stops early when the total loss has not fallen
/// over a tenth of the steps.
struct CarliniWagnerAttack: AttackMethodDefinition {
    let config: AttackConfig
    let ensemble: Ensemble
    let monitor: AttackMonitor

    static let name: AttackConfig.MethodName = "cw"
    static let parameters: Set<AttackConfig.Field> = [.steps, .learningRate, .c, .kappa, .binarySearchSteps, .targeted, .target]
    static let norms: [Norm] = [.l2]
    static let targeting = Targeting.optional

    static func fillDefaults(_ c: inout AttackConfig) {
        c.steps = c.steps ?? 100
        c.learningRate = c.learningRate ?? 0.01
        c.c = c.c ?? 1
        c.kappa = c.kappa ?? 0
        c.binarySearchSteps = c.binarySearchSteps ?? 1
    }

    static func run(_ config: AttackConfig, on ensemble: Ensemble, monitor: AttackMonitor, batch: inout AttackBatch) throws -> Bool {
        try Self(config: config, ensemble: ensemble, monitor: monitor).run(&batch)
    }

    func run(_ batch: inout AttackBatch) throws -> Bool {
        let (lo, hi) = (ensemble.lower, ensemble.upper), span = hi - lo
        let n = batch.count, per = batch.item, steps = config.steps!, lr = config.learningRate!
        let (beta1, beta2, adamEps): (Float, Float, Float) = (0.9, 0.999, 1e-8)
        let runs = ensemble.executions()
        let classes = (0..<n).map(batch.lossClass)
        let w0 = batch.clean.map { v in
            let u = min(max((v - lo) / span * 2 - 1, -1 + 1e-6), 1 - 1e-6)
            return 0.5 * logf((1 + u) / (1 - u))
        }
        var c = [Float](repeating: config.c!, count: n)
        var cLow = [Float](repeating: 0, count: n), cHigh = [Float](repeating: 1e10, count: n)
        var bestL2 = [Float](repeating: .infinity, count: n)
        let rounds = config.binarySearchSteps!
        let checkEvery = max(steps / 10, 1)
        for round in 0..<rounds {
            var w = w0, m = Tensor(shape: w0.shape), v = Tensor(shape: w0.shape)
            var succeededThisRound = [Bool](repeating: false, count: n)
            var previousCost = Float.infinity
            for step in 0..<steps {
                let t = w.map(tanhf)
                let x = t.map { lo + span * ($0 + 1) / 2 }
                var cost: Float = 0
                let gradient: Tensor, logits: [Tensor]
                do {
                    (gradient, logits) = try ensemble.inputGradient(x, runs, stop: monitor.shouldStop) { range, all in
                        let z = ensemble.averagedLogits(all)
                        var g = Loss.cwMargin(logits: z, labels: Array(classes[range]), targeted: config.targeted!, kappa: config.kappa!,
                                              reduction: .sum)
                        let k = z.shape[1]
                        for (row, s) in range.enumerated() {
                            cost += c[s] * g.perSample[row]
                            for j in 0..<k { g.gradient.data[row * k + j] *= c[s] }
                        }
                        return ensemble.weights.map { g.gradient * $0 }
                    }
                } catch is AttackStopped {
                    return true
                }
                let diff = x - batch.clean
                let l2 = diff.itemNorms()
                cost += l2.reduce(0) { $0 + $1 * $1 }
                let predicted = ensemble.averagedLogits(logits).argmaxRows()
                for s in 0..<n where batch.succeeded(s, predicted: predicted[s]) {
                    succeededThisRound[s] = true
                    if l2[s] < bestL2[s] {
                        bestL2[s] = l2[s]
                        batch.done[s] = true
                        batch.iterations[s] = round * steps + step
                        AttackBatch.scatter(x.gather([s]), into: &batch.adversarial, at: [s])
                    }
                }
                // d/dw = (2(x - x0) + c·df/dx) · span/2 · (1 - tanh²(w)), then Adam on w.
                var g = gradient
                g.axpy(2, diff)
                let tt = Float(step + 1)
                let stepSize = lr / (1 - powf(beta1, tt)), bc2 = (1 - powf(beta2, tt)).squareRoot()
                for j in 0..<(n * per) {
                    let gw = g.data[j] * span / 2 * (1 - t.data[j] * t.data[j])
                    m.data[j] = beta1 * m.data[j] + (1 - beta1) * gw
                    v.data[j] = beta2 * v.data[j] + (1 - beta2) * gw * gw
                    w.data[j] -= stepSize * m.data[j] / (v.data[j].squareRoot() / bc2 + adamEps)
                }
                monitor.progress(round * steps + step + 1, rounds * steps, Double(succeededThisRound.filter { $0 }.count) / Double(n))
                if config.earlyStop! && step % checkEvery == 0 {
                    if cost > previousCost { break }
                    previousCost = cost
                }
            }
            for s in 0..<n where batch.iterations[s] == 0 && !batch.done[s] { batch.iterations[s] = (round + 1) * steps }
            guard round < rounds - 1 else { break }
            for s in 0..<n {
                if succeededThisRound[s] {
                    cHigh[s] = min(cHigh[s], c[s])
                    c[s] = (cLow[s] + cHigh[s]) / 2
                } else {
                    cLow[s] = max(cLow[s], c[s])
                    c[s] = cHigh[s] < 1e9 ? (cLow[s] + cHigh[s]) / 2 : c[s] * 10
                }
            }
        }
        return false
    }
}

extension AttackConfig.MethodName { public static let cw = CarliniWagnerAttack.name }
