import Attacks
import NN
import Settings
import TensorEngine

/// How an adversarial training objective makes its adversarial examples x* for a batch.
///
/// - `fgsm`: one signed-gradient step of size epsilon on the cross-entropy (Goodfellow et al.;
///   the paper's choice for the consistent loss).
/// - `pgd`: projected gradient ascent on the cross-entropy, L-inf ball, uniform random start
///   (Madry et al.).
/// - `llc`: the iterative least-likely-class attack (Kurakin et al.): targeted BIM steps that
///   descend the cross-entropy of the class the model finds least likely on the clean image.
/// - `kl`: TRADES' inner maximisation: x* starts at x + 0.001·N(0, 1) and ascends
///   KL(f(x) ‖ f(x*)) with signed steps, projected onto the L-inf ball.
///
/// The first three reuse the Attacks module (`Attack.examples`, early stopping off: every
/// sample takes every step, as the training references do). All run the model in **eval
/// mode**, as TRADES' reference implementation does (`model.eval()` while attacking) and as
/// torchattacks does by default: batchnorm uses its running statistics and its statistics
/// are not moved by the attack's passes; dropout is off. (Madry's MNIST network has neither
/// layer, so for it the choice changes nothing.)
public struct Adversary: Codable, Sendable, Equatable {
    public typealias Method = AdversaryMethod

    public var method: Method
    public var epsilon: Float
    public var stepSize: Float
    public var steps: Int
    public var randomStart: Bool

    /// Defaults: epsilon 0.3 (MNIST); iterative methods 40 steps of 0.01 (Madry's and TRADES'
    /// MNIST settings); PGD starts at a uniform random point of the ball.
    public init(method: Method, epsilon: Float? = nil, stepSize: Float? = nil, steps: Int? = nil, randomStart: Bool? = nil) throws {
        self.method = method
        self.epsilon = epsilon ?? 0.3
        self.steps = method == .fgsm ? 1 : (steps ?? 40)
        self.stepSize = method == .fgsm ? self.epsilon : (stepSize ?? 0.01)
        self.randomStart = method == .pgd ? (randomStart ?? true) : (method == .kl)
        if method == .fgsm, let s = steps, s != 1 { throw TrainingError.invalid("adversary.steps", "fgsm takes one step, got \(s)") }
        if method == .fgsm, stepSize != nil { throw TrainingError.invalid("adversary.stepSize", "fgsm steps by epsilon; leave stepSize out") }
        if method != .pgd, randomStart != nil {
            throw TrainingError.invalid("adversary.randomStart", "only pgd has a choice of random start")
        }
        guard self.epsilon > 0, self.epsilon.isFinite else {
            throw TrainingError.invalid("adversary.epsilon", "must be a positive number, got \(self.epsilon)")
        }
        guard self.stepSize > 0, self.stepSize.isFinite else {
            throw TrainingError.invalid("adversary.stepSize", "must be a positive number, got \(self.stepSize)")
        }
        guard (1...10_000).contains(self.steps) else { throw TrainingError.invalid("adversary.steps", "must be 1 to 10000, got \(self.steps)") }
    }

    /// The attack configuration for the methods the Attacks module runs.
    var attackConfig: AttackConfig? {
        var c: AttackConfig
        switch method {
        case .fgsm:
            c = AttackConfig(method: .fgsm)
        case .pgd:
            c = AttackConfig(method: .pgd)
            (c.stepSize, c.steps, c.randomStart) = (stepSize, steps, randomStart)
        case .llc:
            c = AttackConfig(method: .bim)
            (c.stepSize, c.steps, c.targeted, c.target) = (stepSize, steps, true, .leastLikely)
        case .kl:
            return nil
        }
        c.epsilon = epsilon
        c.earlyStop = false
        return c
    }

    /// x* for the batch, or nil when `shouldStop` asked to stop part-way (the caller then
    /// discards the step). `seed` drives the random start.
    public func examples(_ model: Model, images: Tensor, labels: [Int], seed: UInt64, shouldStop: @escaping () -> Bool = { false }) throws -> Tensor? {
        if shouldStop() { return nil }
        if var config = attackConfig {
            config.seed = seed
            var ensemble = Ensemble(model)
            ensemble.fixedChunk = min(images.batch, 256)
            let (adversarial, stopped) = try Attack.examples(config, on: ensemble, images: images, labels: labels,
                                                             monitor: AttackMonitor(shouldStop: shouldStop))
            return stopped ? nil : adversarial
        }
        return try klExamples(model, images: images, seed: seed, shouldStop: shouldStop)
    }

    /// TRADES' inner loop (trades.py, perturb_steps of step_size, distance 'l_inf').
    private func klExamples(_ model: Model, images: Tensor, seed: UInt64, shouldStop: @escaping () -> Bool) throws -> Tensor? {
        let (lo, hi) = (model.spec.input.lower, model.spec.input.upper)
        var ensemble = Ensemble(model)
        ensemble.fixedChunk = min(images.batch, 256)
        let runs = ensemble.executions()
        let clean = try model.forward(images, runs[0]).logits.softmaxRows()
        var rng = SeededRNG(seed: seed)
        var x = images
        for i in 0..<x.count { x.data[i] += 0.001 * rng.nextNormal() }
        x.clamp(lo, hi)
        let k = clean.shape[1]
        for _ in 0..<steps {
            let gradient: Tensor
            do {
                // d KL(p ‖ q)/d z* = q - p per row (the batch sum; its scale does not matter to a sign step).
                (gradient, _) = try ensemble.inputGradient(x, runs, stop: shouldStop) { range, logits in
                    var g = logits[0].softmaxRows()
                    for r in 0..<range.count { for j in 0..<k { g.data[r * k + j] -= clean.data[(range.lowerBound + r) * k + j] } }
                    return [g]
                }
            } catch is AttackStopped {
                return nil
            }
            for i in 0..<x.count {
                let g = gradient.data[i]
                let stepped = x.data[i] + (g > 0 ? stepSize : (g < 0 ? -stepSize : 0))
                let c = images.data[i]
                x.data[i] = min(max(min(max(stepped, c - epsilon), c + epsilon), lo), hi)
            }
        }
        return x
    }
}

/// A training request that cannot run as given; `field` names the parameter: the Settings
/// module's one error for settings.
public typealias TrainingError = SettingsError
