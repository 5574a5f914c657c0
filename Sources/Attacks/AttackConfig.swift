/// Which attack, and its parameters. Unset parameters take the method's defaults
/// (`resolved()`), chosen to match torchattacks' where it has the method, so results can be
/// compared; the resolved configuration is echoed with every result so a call can be repeated.
public struct AttackConfig: Codable, Sendable, Equatable {
    public enum Method: String, Codable, Sendable, CaseIterable {
        case fgsm, bim, pgd, mifgsm
        /// The paper's ensemble-optimization targeted attack (Adam on the image).
        case ensembleOpt = "ensemble-opt"
        case cw, deepfool
    }

    public enum Norm: String, Codable, Sendable { case linf, l2 }

    /// How targets are chosen for targeted attacks.
    public enum TargetChoice: Codable, Sendable, Equatable {
        case random, leastLikely
        /// One class per input image.
        case given([Int])
    }

    public var method: Method
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
    public var earlyStop: Bool?
    public var seed: UInt64?
    /// Set by `resolved()`: resolving again returns the configuration as it is.
    public private(set) var isResolved = false

    enum CodingKeys: String, CodingKey {
        case method, norm, epsilon, stepSize, steps, restarts, randomStart, decay, targeted, target, targetsPerImage
        case kappa, c, binarySearchSteps, learningRate, lambda, overshoot, earlyStop, seed
    }

    public init(method: Method) { self.method = method }

    /// Every parameter set: the method's defaults where the caller left one open. Throws for
    /// values out of range or parameters the method does not take, naming the field.
    public func resolved() throws -> AttackConfig {
        if isResolved { return self }
        try checkParametersApply()
        var r = self
        let l2 = method == .cw || method == .deepfool || (method == .pgd && norm == .l2)
        r.norm = l2 ? .l2 : (method == .ensembleOpt ? .l2 : .linf)
        switch method {
        case .fgsm:
            r.epsilon = epsilon ?? 0.3
            r.steps = 1
        case .bim:
            r.epsilon = epsilon ?? 0.3
            r.steps = steps ?? 40
            r.stepSize = stepSize ?? 0.01
        case .pgd:
            r.epsilon = epsilon ?? (l2 ? 2.0 : 0.3)
            r.steps = steps ?? 40
            r.stepSize = stepSize ?? (l2 ? 0.2 : 0.01)
            r.restarts = restarts ?? 1
            r.randomStart = randomStart ?? true
        case .mifgsm:
            r.epsilon = epsilon ?? 0.3
            r.steps = steps ?? 10
            r.stepSize = stepSize ?? (r.epsilon! / Float(r.steps!))
            r.decay = decay ?? 1.0
        case .ensembleOpt:
            r.steps = steps ?? 100
            r.learningRate = learningRate ?? 0.01
            r.lambda = lambda ?? 0.05
            r.targeted = true
            r.target = target ?? .random
            r.targetsPerImage = targetsPerImage ?? 1
        case .cw:
            r.steps = steps ?? 100
            r.learningRate = learningRate ?? 0.01
            r.c = c ?? 1
            r.kappa = kappa ?? 0
            r.binarySearchSteps = binarySearchSteps ?? 1
        case .deepfool:
            r.steps = steps ?? 50
            r.overshoot = overshoot ?? 0.02
        }
        r.targeted = r.targeted ?? (target != nil)
        if r.targeted == true {
            guard method != .deepfool else { throw AttackError.invalid("targeted", "deepfool is untargeted") }
            r.target = r.target ?? .random
        } else if target != nil {
            throw AttackError.invalid("target", "given, but targeted is false")
        }
        r.earlyStop = earlyStop ?? true
        r.seed = seed ?? 0
        try r.validate()
        r.isResolved = true
        return r
    }

    /// The parameters each method takes (beyond method, seed, earlyStop and target choice).
    static let accepted: [Method: Set<String>] = [
        .fgsm: ["epsilon", "targeted", "target"],
        .bim: ["epsilon", "stepSize", "steps", "targeted", "target"],
        .pgd: ["norm", "epsilon", "stepSize", "steps", "restarts", "randomStart", "targeted", "target"],
        .mifgsm: ["epsilon", "stepSize", "steps", "decay", "targeted", "target"],
        .ensembleOpt: ["epsilon", "steps", "learningRate", "lambda", "targeted", "target", "targetsPerImage"],
        .cw: ["steps", "learningRate", "c", "kappa", "binarySearchSteps", "targeted", "target"],
        .deepfool: ["steps", "overshoot"],
    ]

    /// Refuses parameters the method does not use, so a value that would be ignored is never
    /// echoed as if it had been applied. (`targeted: false` and the method's own norm are
    /// always fine: they say what the method does anyway.)
    private func checkParametersApply() throws {
        let given: [(String, Bool)] = [
            ("norm", norm != nil), ("epsilon", epsilon != nil), ("stepSize", stepSize != nil), ("steps", steps != nil),
            ("restarts", restarts != nil), ("randomStart", randomStart != nil), ("decay", decay != nil),
            ("targeted", targeted == true), ("target", target != nil), ("targetsPerImage", targetsPerImage != nil),
            ("kappa", kappa != nil), ("c", c != nil), ("binarySearchSteps", binarySearchSteps != nil),
            ("learningRate", learningRate != nil), ("lambda", lambda != nil), ("overshoot", overshoot != nil),
        ]
        // Naming the norm a method already uses is harmless; another one is an error.
        if let norm, method != .pgd {
            let own: Norm = [.fgsm, .bim, .mifgsm].contains(method) ? .linf : .l2
            guard norm == own else {
                throw AttackError.invalid("norm", "\(method.rawValue) is an \(own == .linf ? "L-inf" : "L2") attack\(own == .linf ? "; use pgd with norm l2" : "")")
            }
        }
        let accepted = AttackConfig.accepted[method]!.union(["norm"])
        if let unused = given.first(where: { $0.1 && !accepted.contains($0.0) }) {
            let list = accepted.sorted().joined(separator: ", ")
            throw AttackError.invalid(unused.0, "\(method.rawValue) does not use it (it takes \(list), seed and earlyStop)")
        }
        if method == .ensembleOpt && targeted == false {
            throw AttackError.invalid("targeted", "ensemble-opt is a targeted attack")
        }
    }

    private func validate() throws {
        func positive(_ v: Float?, _ name: String) throws {
            if let v, !(v > 0 && v.isFinite) { throw AttackError.invalid(name, "must be a positive number, got \(v)") }
        }
        func nonNegative(_ v: Float?, _ name: String) throws {
            if let v, !(v >= 0 && v.isFinite) { throw AttackError.invalid(name, "must be a non-negative number, got \(v)") }
        }
        try positive(epsilon, "epsilon")
        try positive(stepSize, "stepSize")
        try positive(learningRate, "learningRate")
        try positive(c, "c")
        try nonNegative(decay, "decay")
        try nonNegative(kappa, "kappa")
        try nonNegative(lambda, "lambda")
        try nonNegative(overshoot, "overshoot")
        if let steps, !(1...100_000).contains(steps) { throw AttackError.invalid("steps", "must be 1 to 100000, got \(steps)") }
        if let restarts, !(1...1000).contains(restarts) { throw AttackError.invalid("restarts", "must be 1 to 1000, got \(restarts)") }
        if let b = binarySearchSteps, !(1...64).contains(b) { throw AttackError.invalid("binarySearchSteps", "must be 1 to 64, got \(b)") }
        if let t = targetsPerImage, !(1...1000).contains(t) { throw AttackError.invalid("targetsPerImage", "must be 1 to 1000, got \(t)") }
    }
}
