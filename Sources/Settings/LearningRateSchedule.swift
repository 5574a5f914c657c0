import Foundation

/// The learning-rate schedule: the one definition of its settings, decoded straight from
/// `trainStep`'s `schedule` (decoding resolves defaults and checks values) and echoed resolved.
///
/// The learning rate as a function of the model's step count t (0 for its first step), so a
/// resumed run continues the schedule where it was. `warmupSteps` first ramps linearly
/// (lr·(t+1)/warmupSteps); then:
/// - `constant`: lr;
/// - `step`: lr · gamma^⌊(t - warmup)/stepSize⌋;
/// - `cosine`: minLR + (lr - minLR)(1 + cos(π·u))/2, u = (t - warmup)/(totalSteps - warmup) capped at 1;
/// - `linear`: lr + (minLR - lr)·u, the same u.
public struct LearningRateSchedule: Codable, Sendable, Equatable {
    public enum Kind: String, WireEnum { case constant, step, cosine, linear }

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
        guard self.warmupSteps >= 0 else { throw SettingsError.invalid("warmupSteps", "must be >= 0, got \(self.warmupSteps)") }
        switch kind {
        case .constant:
            if let name = [("stepSize", stepSize != nil), ("gamma", gamma != nil), ("totalSteps", totalSteps != nil),
                           ("minLearningRate", minLearningRate != nil)].first(where: \.1)?.0 {
                throw SettingsError.invalid("\(name)", "a constant schedule does not use it")
            }
        case .step:
            guard let s = stepSize, s > 0 else { throw SettingsError.invalid("stepSize", "a step schedule needs stepSize > 0") }
            self.stepSize = s
            self.gamma = gamma ?? 0.1
            guard self.gamma! > 0, self.gamma!.isFinite else { throw SettingsError.invalid("gamma", "must be a positive number") }
        case .cosine, .linear:
            guard let t = totalSteps, t > self.warmupSteps else {
                throw SettingsError.invalid("totalSteps", "\(kind.rawValue) needs totalSteps greater than warmupSteps")
            }
            self.totalSteps = t
            self.minLearningRate = minLearningRate ?? 0
            guard self.minLearningRate! >= 0, self.minLearningRate!.isFinite else {
                throw SettingsError.invalid("minLearningRate", "must be a non-negative number")
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

    private enum CodingKeys: String, CodingKey { case kind, warmupSteps, stepSize, gamma, totalSteps, minLearningRate }

    /// Decoding resolves, as `init(kind:...)` does, with errors at the field's path.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        do {
            try self.init(kind: try c.decode(Kind.self, forKey: .kind), warmupSteps: try c.decodeIfPresent(Int.self, forKey: .warmupSteps),
                          stepSize: try c.decodeIfPresent(Int.self, forKey: .stepSize), gamma: try c.decodeIfPresent(Float.self, forKey: .gamma),
                          totalSteps: try c.decodeIfPresent(Int.self, forKey: .totalSteps),
                          minLearningRate: try c.decodeIfPresent(Float.self, forKey: .minLearningRate))
        } catch let e as SettingsError {
            throw e.decodingError(at: decoder)
        }
    }
}
