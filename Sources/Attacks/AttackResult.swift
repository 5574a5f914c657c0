import Settings
import TensorEngine

/// What an attack made of each input.
public struct SampleResult: Codable, Sendable, Equatable {
    /// The true label.
    public var label: Int
    /// The target class, for targeted attacks.
    public var target: Int?
    /// The class the (ensemble) model predicts for the adversarial image.
    public var adversarialLabel: Int
    /// Untargeted: adversarialLabel differs from label. Targeted: it equals the target.
    public var success: Bool
    /// Norms of the perturbation (adversarial - original).
    public var linf: Float
    public var l2: Float
    /// The predicted class's probability on the adversarial image.
    public var confidence: Float
    /// Iterations this sample took (fewer than configured when it stopped early).
    public var iterations: Int
    /// Index of the source image in the request's inputs.
    public var source: Int
    /// Whether the model classified the clean image correctly. Untargeted success rates and
    /// norm statistics count only these: a clean mistake is no success of the attack.
    public var cleanCorrect: Bool
}

/// The whole outcome of one attack call.
public struct AttackResult: Sendable {
    /// [N, C, H, W] adversarial images, one per sample (N = inputs × targets per image).
    public var adversarial: Tensor
    public var samples: [SampleResult]
    /// The configuration used, every default filled in.
    public var config: AttackConfig
    public var seconds: Double
    /// Whether the attack was stopped before it finished (results are the best so far).
    public var stoppedEarly: Bool

    /// Samples the attack could meaningfully try (see `[SampleResult].attacked`).
    public var attacked: [SampleResult] { samples.attacked }
    /// Fraction of attacked samples that succeeded.
    public var successRate: Double { samples.successRate }
    /// Fraction of samples the model still classifies correctly.
    public var robustAccuracy: Double { samples.robustAccuracy }
}

/// The figures of a set of samples, whether one attack call made them or several chunks of
/// one request (an attack over a streamed dataset adds its chunks' samples up).
extension Array where Element == SampleResult {
    /// Samples the attack could meaningfully try: for untargeted attacks those the model
    /// got right before the attack; for targeted ones all of them.
    public var attacked: [SampleResult] { filter { $0.target != nil || $0.cleanCorrect } }

    /// Fraction of attacked samples that succeeded.
    public var successRate: Double {
        let a = attacked
        return a.isEmpty ? 0 : Double(a.filter(\.success).count) / Double(a.count)
    }

    /// Fraction of samples the model still classifies correctly.
    public var robustAccuracy: Double { isEmpty ? 0 : Double(filter { $0.adversarialLabel == $0.label }.count) / Double(count) }
}

/// Progress and cancellation hooks an attack calls between iterations.
public struct AttackMonitor {
    /// (iteration done, iterations in all, fraction of samples already successful).
    public var progress: (Int, Int, Double) -> Void
    /// Polled every iteration: true stops the attack, which returns its best results so far.
    public var shouldStop: () -> Bool

    public init(progress: @escaping (Int, Int, Double) -> Void = { _, _, _ in }, shouldStop: @escaping () -> Bool = { false }) {
        self.progress = progress
        self.shouldStop = shouldStop
    }
}
