/// Which attack, and its parameters: the one definition of an attack's settings. The wire
/// decodes into it (`attack`'s params, `evaluate`'s `attack`, `probe`'s attack on the fly),
/// the engine runs it, and results echo it resolved.
///
/// Unset parameters take the method's defaults when the Attacks module resolves it (each
/// method's file says which parameters it takes and their defaults, chosen to match
/// torchattacks' where it has the method, so results can be compared).
public struct AttackConfig: Codable, Sendable, Equatable {
    /// An attack method's wire name. Not a closed enum: the Attacks module's registry holds
    /// the methods (one file each), and resolving refuses a name it does not know.
    public struct MethodName: WireName {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
    }

    /// Every parameter by its wire name: the coding keys, and what a method lists as accepted.
    public enum Field: String, CodingKey, CaseIterable, Sendable {
        case method, norm, epsilon, stepSize, steps, restarts, randomStart, decay, targeted, target, targetsPerImage
        case kappa, c, binarySearchSteps, learningRate, lambda, overshoot, loss, targetClasses, queries, squareFraction
        case version, earlyStop, seed
    }

    /// The objective an APGD run ascends: cross-entropy or Croce & Hein's difference of logits
    /// ratio (their targeted form when the attack is targeted).
    public enum LossName: String, WireEnum { case ce, dlr }

    /// Which AutoAttack ensemble: `standard` (APGD-CE, APGD-T, FAB-T, Square) or `rand` (APGD-CE
    /// and APGD-DLR with expectation over 20 gradient draws, for models with randomness).
    public enum AutoAttackVersion: String, WireEnum { case standard, rand }
    typealias CodingKeys = Field

    public var method: MethodName
    public var norm: Norm?
    public var epsilon: Float?
    public var stepSize: Float?
    public var steps: Int?
    public var restarts: Int?
    public var randomStart: Bool?
    public var decay: Float?
    public var targeted: Bool?
    public var target: TargetChoice?
    public var targetsPerImage: Int?
    public var kappa: Float?
    public var c: Float?
    public var binarySearchSteps: Int?
    public var learningRate: Float?
    public var lambda: Float?
    public var overshoot: Float?
    /// APGD's objective (`ce` or `dlr`).
    public var loss: LossName?
    /// APGD-T: how many target classes it tries per image (the top ones after the label).
    public var targetClasses: Int?
    /// Square: the query budget per image.
    public var queries: Int?
    /// Square: the fraction of the image the first square covers (the paper's p_init).
    public var squareFraction: Float?
    /// AutoAttack: which ensemble of attacks.
    public var version: AutoAttackVersion?
    public var earlyStop: Bool?
    public var seed: UInt64?
    /// Set once the Attacks module filled in the method's defaults: resolving again returns
    /// the configuration as it is. Not on the wire.
    public var isResolved = false

    public init(method: MethodName) { self.method = method }

    /// The parameters given, beyond method, seed and earlyStop (`targeted: false` says what an
    /// untargeted method does anyway, so it does not count as given).
    public var given: [Field] {
        let set: [(Field, Bool)] = [
            (.norm, norm != nil), (.epsilon, epsilon != nil), (.stepSize, stepSize != nil), (.steps, steps != nil),
            (.restarts, restarts != nil), (.randomStart, randomStart != nil), (.decay, decay != nil),
            (.targeted, targeted == true), (.target, target != nil), (.targetsPerImage, targetsPerImage != nil),
            (.kappa, kappa != nil), (.c, c != nil), (.binarySearchSteps, binarySearchSteps != nil),
            (.learningRate, learningRate != nil), (.lambda, lambda != nil), (.overshoot, overshoot != nil),
            (.loss, loss != nil), (.targetClasses, targetClasses != nil), (.queries, queries != nil),
            (.squareFraction, squareFraction != nil), (.version, version != nil),
        ]
        return set.filter(\.1).map(\.0)
    }

    /// The ranges every method shares, naming the field.
    public func validateRanges() throws {
        func positive(_ v: Float?, _ f: Field) throws {
            if let v, !(v > 0 && v.isFinite) { throw SettingsError.invalid(f.rawValue, "must be a positive number, got \(v)") }
        }
        func nonNegative(_ v: Float?, _ f: Field) throws {
            if let v, !(v >= 0 && v.isFinite) { throw SettingsError.invalid(f.rawValue, "must be a non-negative number, got \(v)") }
        }
        func within(_ v: Int?, _ range: ClosedRange<Int>, _ f: Field) throws {
            if let v, !range.contains(v) {
                throw SettingsError.invalid(f.rawValue, "must be \(range.lowerBound) to \(range.upperBound), got \(v)")
            }
        }
        try positive(epsilon, .epsilon)
        try positive(stepSize, .stepSize)
        try positive(learningRate, .learningRate)
        try positive(c, .c)
        try nonNegative(decay, .decay)
        try nonNegative(kappa, .kappa)
        try nonNegative(lambda, .lambda)
        try nonNegative(overshoot, .overshoot)
        try within(steps, 1...100_000, .steps)
        try within(restarts, 1...1000, .restarts)
        try within(binarySearchSteps, 1...64, .binarySearchSteps)
        try within(targetsPerImage, 1...1000, .targetsPerImage)
        try within(targetClasses, 1...999, .targetClasses)
        try within(queries, 1...1_000_000, .queries)
        if let squareFraction, !(squareFraction > 0 && squareFraction <= 1) {
            throw SettingsError.invalid(Field.squareFraction.rawValue, "must be in (0, 1], got \(squareFraction)")
        }
    }
}
