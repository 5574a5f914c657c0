import Settings

/// One attack method: its wire name, the parameters it takes, their defaults, and its runner.
/// Each method is one file that defines one of these; `AttackRegistry` lists them, so adding
/// a method is that file and one line there (torchattacks keeps one file per attack too).
protocol AttackMethodDefinition {
    static var name: AttackConfig.MethodName { get }
    /// The parameters it takes beyond method, seed and earlyStop (norm is always accepted when
    /// it names one of `norms`).
    static var parameters: Set<AttackConfig.Field> { get }
    /// The norms it can bound; the first is its default.
    static var norms: [Norm] { get }
    static var targeting: Targeting { get }
    /// Whether it follows the model's gradients (white box); false for score-based black-box
    /// methods, which only query predictions. evaluate's gradient-masking checks compare the
    /// two kinds (a black-box attack beating the white-box ones is a sign of masked gradients).
    static var usesGradients: Bool { get }
    /// Fills in the defaults of its own parameters (the norm is already resolved).
    static func fillDefaults(_ config: inout AttackConfig)
    /// Moves the batch's adversarial images; true when the monitor asked to stop part-way.
    static func run(_ config: AttackConfig, on ensemble: Ensemble, monitor: AttackMonitor, batch: inout AttackBatch) throws -> Bool
}

extension AttackMethodDefinition {
    /// Every gradient method keeps this default; a black-box method's file sets it false.
    static var usesGradients: Bool { true }
}

/// Whether a method attacks toward a target class.
public enum Targeting: Sendable {
    /// Untargeted unless `targeted` or `target` is given.
    case optional
    /// Always targeted (a random other class unless `target` says).
    case always
    /// Untargeted only.
    case never
}
