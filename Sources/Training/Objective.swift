import NN
import Settings
import TensorEngine

/// What a training step minimises (PAPER.md section 4). Every loss is a mean over the batch.
///
/// - `standard`: CE(f(x), y).
/// - `pgd`: Madry et al.: CE(f(x*), y) on PGD examples alone.
/// - `trades`: Zhang et al.: CE(f(x), y) + beta · KL(f(x) ‖ f(x*)), x* maximising the KL
///   (adversary `kl`); KL is 'batchmean' as in TRADES' code.
/// - `consistent`: the paper's remedy: CE(f(x), y) + CE(f(x*), y) + lambda · D, with
///   D = mean over the batch of Σ over `layers` of ‖φ(x) - φ(x*)‖² — the squared distance
///   summed over the layer's features (`featureReduction: .sum`, the paper's ‖·‖²) or
///   averaged over them (`.mean`, so layers of different widths weigh alike).
public enum TrainingObjective: Sendable, Equatable {
    case standard
    case pgd(Adversary)
    case trades(beta: Float, adversary: Adversary)
    case consistent(lambda: Float, layers: [String], featureReduction: FeatureReduction, adversary: Adversary)

    public typealias FeatureReduction = Settings.FeatureReduction

    public var kind: ObjectiveKind {
        switch self {
        case .standard: return .standard
        case .pgd: return .pgd
        case .trades: return .trades
        case .consistent: return .consistent
        }
    }

    public var name: String { kind.rawValue }

    /// Train-mode forward passes a step records at once (their activations are held together
    /// until the backward): x alone, x* alone, or both (TRADES, the consistent loss).
    public var recordedPasses: Int {
        switch self {
        case .standard, .pgd: return 1
        case .trades, .consistent: return 2
        }
    }

    public var adversary: Adversary? {
        switch self {
        case .standard: return nil
        case .pgd(let a): return a
        case .trades(_, let a): return a
        case .consistent(_, _, _, let a): return a
        }
    }

    /// Checks layer names against the model and values against their ranges.
    public func validate(for model: Model) throws {
        switch self {
        case .standard: break
        case .pgd(let a):
            if a.method != .pgd && a.method != .fgsm && a.method != .llc {
                throw TrainingError.invalid("objective.adversary.method", "pgd training takes fgsm, pgd or llc examples, got \(a.method.rawValue)")
            }
        case let .trades(beta, a):
            guard beta >= 0, beta.isFinite else { throw TrainingError.invalid("objective.beta", "must be a non-negative number, got \(beta)") }
            guard a.method == .kl else { throw TrainingError.invalid("objective.adversary.method", "trades maximises the KL: use kl, got \(a.method.rawValue)") }
        case let .consistent(lambda, layers, _, a):
            guard lambda >= 0, lambda.isFinite else { throw TrainingError.invalid("objective.lambda", "must be a non-negative number, got \(lambda)") }
            guard !layers.isEmpty else { throw TrainingError.invalid("objective.layers", "name at least one layer") }
            if let bad = layers.firstIndex(where: { model.layer(named: $0) == nil }) {
                throw TrainingError.invalid("objective.layers[\(bad)]", "the model has no layer \"\(layers[bad])\"")
            }
            if a.method == .kl { throw TrainingError.invalid("objective.adversary.method", "kl is TRADES' adversary; use fgsm, pgd or llc") }
        }
    }
}

/// The loss of an objective at (x, x*, y), its parts, the batch accuracies of the same
/// forward passes, and the parameter gradients — with x* held fixed (as in every reference
/// implementation, no gradient flows through the adversary).
public struct ObjectiveOutcome {
    public var total: Float
    /// Unweighted parts: cleanCrossEntropy, adversarialCrossEntropy, kl, featureDistance.
    public var parts: [String: Float]
    public var cleanCorrect: Int?
    public var adversarialCorrect: Int?
    public var gradients: ParameterGradients
}

extension TrainingObjective {
    /// The train-mode passes of x and x*, each its own forward (so batchnorm normalises each
    /// batch by its own statistics, as the references' two calls do), under the **same
    /// dropout masks**: the random stream is rewound before the second pass, so the feature
    /// distance compares x and x* through the same sub-network rather than adding the noise
    /// of two different masks.
    private func pairedForward(_ model: Model, _ x: Tensor, _ xAdv: Tensor, keep: Set<String>, _ run: Execution) throws -> (Model.Output, Model.Output) {
        let stream = run.rng
        let clean = try model.forward(x, run, keep: keep, record: true)
        run.rng = stream
        let adv = try model.forward(xAdv, run, keep: keep, record: true)
        return (clean, adv)
    }

    /// Forward (in `run`'s mode, normally train) and backward of the objective. `adversarial`
    /// is ignored by `standard` and required by the others.
    public func evaluate(_ model: Model, clean x: Tensor, adversarial: Tensor?, labels: [Int], _ run: Execution) throws -> ObjectiveOutcome {
        func correct(_ logits: Tensor) -> Int { zip(logits.argmaxRows(), labels).filter { $0 == $1 }.count }
        var gradients = ParameterGradients(count: model.parameters.count)
        func add(_ g: ParameterGradients) {
            for p in model.parameters { if let t = g[p] { gradients.accumulate(p, t) } }
        }
        switch self {
        case .standard:
            let out = try model.forward(x, run, record: true)
            let ce = Loss.crossEntropy(logits: out.logits, labels: labels)
            gradients = try model.backward(out.trace!, seeds: ["logits": ce.gradient], input: false, parameters: true, run).parameters
            return ObjectiveOutcome(total: ce.value, parts: ["cleanCrossEntropy": ce.value], cleanCorrect: correct(out.logits),
                                    adversarialCorrect: nil, gradients: gradients)
        case .pgd:
            let out = try model.forward(adversarial!, run, record: true)
            let ce = Loss.crossEntropy(logits: out.logits, labels: labels)
            gradients = try model.backward(out.trace!, seeds: ["logits": ce.gradient], input: false, parameters: true, run).parameters
            return ObjectiveOutcome(total: ce.value, parts: ["adversarialCrossEntropy": ce.value], cleanCorrect: nil,
                                    adversarialCorrect: correct(out.logits), gradients: gradients)
        case let .trades(beta, _):
            let (clean, adv) = try pairedForward(model, x, adversarial!, keep: [], run)
            let ce = Loss.crossEntropy(logits: clean.logits, labels: labels)
            let (kl, klClean) = Loss.klDivergence(target: clean.logits, input: adv.logits, reduction: .mean)
            var seedClean = ce.gradient
            seedClean.axpy(beta, klClean)
            add(try model.backward(clean.trace!, seeds: ["logits": seedClean], input: false, parameters: true, run).parameters)
            add(try model.backward(adv.trace!, seeds: ["logits": kl.gradient * beta], input: false, parameters: true, run).parameters)
            return ObjectiveOutcome(total: ce.value + beta * kl.value, parts: ["cleanCrossEntropy": ce.value, "kl": kl.value],
                                    cleanCorrect: correct(clean.logits), adversarialCorrect: correct(adv.logits), gradients: gradients)
        case let .consistent(lambda, layers, reduction, _):
            let keep = Set(layers)
            let (clean, adv) = try pairedForward(model, x, adversarial!, keep: keep, run)
            let ce = Loss.crossEntropy(logits: clean.logits, labels: labels)
            let ceAdv = Loss.crossEntropy(logits: adv.logits, labels: labels)
            var seedsClean = ["logits": ce.gradient], seedsAdv = ["logits": ceAdv.gradient]
            var distance: Float = 0
            for name in keep {
                let a = clean.activations[name]!, b = adv.activations[name]!
                var d = Loss.squaredDistance(a, b, reduction: .mean)
                if reduction == .mean {
                    let features = Float(a.itemCount)
                    d.value /= features
                    d.gradient.scale(1 / features)
                }
                distance += d.value
                // "logits" may be a feature layer too: its seed adds to the cross-entropy's.
                seedsClean[name] = (seedsClean[name] ?? Tensor(shape: a.shape)) + d.gradient * lambda
                seedsAdv[name] = (seedsAdv[name] ?? Tensor(shape: a.shape)) + d.gradient * -lambda
            }
            add(try model.backward(clean.trace!, seeds: seedsClean, input: false, parameters: true, run).parameters)
            add(try model.backward(adv.trace!, seeds: seedsAdv, input: false, parameters: true, run).parameters)
            return ObjectiveOutcome(total: ce.value + ceAdv.value + lambda * distance,
                                    parts: ["cleanCrossEntropy": ce.value, "adversarialCrossEntropy": ceAdv.value, "featureDistance": distance],
                                    cleanCorrect: correct(clean.logits), adversarialCorrect: correct(adv.logits), gradients: gradients)
        }
    }
}
