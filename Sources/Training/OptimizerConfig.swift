import Foundation
import NN

/// Which optimiser, with every hyperparameter resolved (torch.optim's defaults where left
/// out). Two configurations are equal exactly when they would build the same optimiser; the
/// resident training state keeps its optimiser (momentum, moments) while the configuration
/// stays equal and starts a fresh one when it changes.
public struct OptimizerConfig: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable { case sgd, adam, adamw }

    public var kind: Kind
    /// The base learning rate; the schedule scales it per step.
    public var learningRate: Float
    public var momentum: Float?
    public var dampening: Float?
    public var nesterov: Bool?
    public var weightDecay: Float
    public var beta1: Float?
    public var beta2: Float?
    public var eps: Float?

    /// SGD: lr 0.01, momentum 0, dampening 0, no Nesterov, no weight decay. Adam: lr 0.001,
    /// betas (0.9, 0.999), eps 1e-8, weight decay 0 (AdamW: 0.01, decoupled).
    public init(kind: Kind, learningRate: Float? = nil, momentum: Float? = nil, dampening: Float? = nil, nesterov: Bool? = nil,
                weightDecay: Float? = nil, beta1: Float? = nil, beta2: Float? = nil, eps: Float? = nil) throws {
        self.kind = kind
        switch kind {
        case .sgd:
            if let name = [("beta1", beta1), ("beta2", beta2), ("eps", eps)].first(where: { $0.1 != nil })?.0 {
                throw TrainingError.invalid("optimizer.\(name)", "sgd does not use it")
            }
            self.learningRate = learningRate ?? 0.01
            self.momentum = momentum ?? 0
            self.dampening = dampening ?? 0
            self.nesterov = nesterov ?? false
            self.weightDecay = weightDecay ?? 0
            if self.nesterov! && (self.momentum! <= 0 || self.dampening! != 0) {
                throw TrainingError.invalid("optimizer.nesterov", "needs a positive momentum and zero dampening (as torch.optim.SGD)")
            }
        case .adam, .adamw:
            if let name = [("momentum", momentum), ("dampening", dampening)].first(where: { $0.1 != nil })?.0 ?? (nesterov != nil ? "nesterov" : nil) {
                throw TrainingError.invalid("optimizer.\(name)", "\(kind.rawValue) does not use it")
            }
            self.learningRate = learningRate ?? 0.001
            self.beta1 = beta1 ?? 0.9
            self.beta2 = beta2 ?? 0.999
            self.eps = eps ?? 1e-8
            self.weightDecay = weightDecay ?? (kind == .adamw ? 0.01 : 0)
        }
        try check(self.learningRate, "learningRate", positive: true)
        try check(self.weightDecay, "weightDecay")
        try self.momentum.map { try check($0, "momentum") }
        try self.dampening.map { try check($0, "dampening") }
        try self.eps.map { try check($0, "eps", positive: true) }
        for (name, b) in [("beta1", self.beta1), ("beta2", self.beta2)] {
            if let b, !(b >= 0 && b < 1) { throw TrainingError.invalid("optimizer.\(name)", "must be in [0, 1), got \(b)") }
        }
    }

    private func check(_ v: Float, _ name: String, positive: Bool = false) throws {
        guard v.isFinite, positive ? v > 0 : v >= 0 else {
            throw TrainingError.invalid("optimizer.\(name)", "must be a \(positive ? "positive" : "non-negative") number, got \(v)")
        }
    }

    /// A fresh optimiser (empty state).
    public func make() -> Optimizer {
        switch kind {
        case .sgd:
            return SGD(learningRate: learningRate, momentum: momentum!, dampening: dampening!, weightDecay: weightDecay, nesterov: nesterov!)
        case .adam, .adamw:
            return Adam(learningRate: learningRate, beta1: beta1!, beta2: beta2!, eps: eps!, weightDecay: weightDecay, decoupled: kind == .adamw)
        }
    }
}

/// The learning rate as a function of the model's step count t (0 for its first step), so a
/// resumed run continues the schedule where it was. `warmupSteps` first ramps linearly
/// (lr·(t+1)/warmupSteps); then:
/// - `constant`: lr;
/// - `step`: lr · gamma^⌊(t - warmup)/stepSize⌋;
/// - `cosine`: minLR + (lr - minLR)(1 + cos(π·u))/2, u = (t - warmup)/(totalSteps - warmup) capped at 1;
/// - `linear`: lr + (minLR - lr)·u, the same u.
public struct LearningRateSchedule: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable { case constant, step, cosine, linear }

    public var kind: Kind
    public var warmupSteps: Int
    public var stepSize: Int?
    public var gamma: Float?
    public var totalSteps: Int?
    public var minLearningRate: Float?

    public static let constant = try! LearningRateSchedule(kind: .constant)

    public init(kind: Kind, warmupSteps: Int? = nil, stepSize: Int? = nil, gamma: Float? = nil, totalSteps: Int? = nil,
                minLearningRate: Float? = nil) throws {
        self.kind = kind
        self.warmupSteps = warmupSteps ?? 0
        guard self.warmupSteps >= 0 else { throw TrainingError.invalid("schedule.warmupSteps", "must be >= 0, got \(self.warmupSteps)") }
        switch kind {
        case .constant:
            if let name = [("stepSize", stepSize != nil), ("gamma", gamma != nil), ("totalSteps", totalSteps != nil),
                           ("minLearningRate", minLearningRate != nil)].first(where: \.1)?.0 {
                throw TrainingError.invalid("schedule.\(name)", "a constant schedule does not use it")
            }
        case .step:
            guard let s = stepSize, s > 0 else { throw TrainingError.invalid("schedule.stepSize", "a step schedule needs stepSize > 0") }
            self.stepSize = s
            self.gamma = gamma ?? 0.1
            guard self.gamma! > 0, self.gamma!.isFinite else { throw TrainingError.invalid("schedule.gamma", "must be a positive number") }
        case .cosine, .linear:
            guard let t = totalSteps, t > self.warmupSteps else {
                throw TrainingError.invalid("schedule.totalSteps", "\(kind.rawValue) needs totalSteps greater than warmupSteps")
            }
            self.totalSteps = t
            self.minLearningRate = minLearningRate ?? 0
            guard self.minLearningRate! >= 0, self.minLearningRate!.isFinite else {
                throw TrainingError.invalid("schedule.minLearningRate", "must be a non-negative number")
            }
        }
    }

    public func learningRate(base: Float, step t: Int) -> Float {
        if t < warmupSteps { return base * Float(t + 1) / Float(warmupSteps) }
        let after = t - warmupSteps
        switch kind {
        case .constant:
            return base
        case .step:
            return base * powf(gamma!, Float(after / stepSize!))
        case .cosine, .linear:
            let u = min(1, Double(after) / Double(totalSteps! - warmupSteps))
            let low = Double(minLearningRate!), b = Double(base)
            return Float(kind == .cosine ? low + (b - low) * (1 + cos(Double.pi * u)) / 2 : b + (low - b) * u)
        }
    }
}
