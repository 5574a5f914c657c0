/// Which optimiser, with every hyperparameter resolved: the one definition of the optimiser
/// settings, decoded straight from `trainStep`'s `optimizer` (decoding resolves the defaults and
/// checks the values, errors at the field's path) and echoed resolved in its result (torch.optim's defaults where left
/// out). Two configurations are equal exactly when they would build the same optimiser; the
/// resident training state keeps its optimiser (momentum, moments) while the configuration
/// stays equal and starts a fresh one when it changes.
public struct OptimizerConfig: Codable, Sendable, Equatable {
    public enum Kind: String, WireEnum { case sgd, adam, adamw }

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
                throw SettingsError.invalid(name, "sgd does not use it")
            }
            self.learningRate = learningRate ?? 0.01
            self.momentum = momentum ?? 0
            self.dampening = dampening ?? 0
            self.nesterov = nesterov ?? false
            self.weightDecay = weightDecay ?? 0
            if self.nesterov! && (self.momentum! <= 0 || self.dampening! != 0) {
                throw SettingsError.invalid("nesterov", "needs a positive momentum and zero dampening (as torch.optim.SGD)")
            }
        case .adam, .adamw:
            if let name = [("momentum", momentum), ("dampening", dampening)].first(where: { $0.1 != nil })?.0 ?? (nesterov != nil ? "nesterov" : nil) {
                throw SettingsError.invalid(name, "\(kind.rawValue) does not use it")
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
            if let b, !(b >= 0 && b < 1) { throw SettingsError.invalid(name, "must be in [0, 1), got \(b)") }
        }
    }

    private func check(_ v: Float, _ name: String, positive: Bool = false) throws {
        guard v.isFinite, positive ? v > 0 : v >= 0 else {
            throw SettingsError.invalid(name, "must be a \(positive ? "positive" : "non-negative") number, got \(v)")
        }
    }

    private enum CodingKeys: String, CodingKey {
        case kind, learningRate, momentum, dampening, nesterov, weightDecay, beta1, beta2, eps
    }

    /// Decoding resolves: left-out hyperparameters take their defaults, and a bad value is an
    /// error at its own path.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        do {
            try self.init(kind: try c.decode(Kind.self, forKey: .kind), learningRate: try c.decodeIfPresent(Float.self, forKey: .learningRate),
                          momentum: try c.decodeIfPresent(Float.self, forKey: .momentum), dampening: try c.decodeIfPresent(Float.self, forKey: .dampening),
                          nesterov: try c.decodeIfPresent(Bool.self, forKey: .nesterov), weightDecay: try c.decodeIfPresent(Float.self, forKey: .weightDecay),
                          beta1: try c.decodeIfPresent(Float.self, forKey: .beta1), beta2: try c.decodeIfPresent(Float.self, forKey: .beta2),
                          eps: try c.decodeIfPresent(Float.self, forKey: .eps))
        } catch let e as SettingsError {
            throw e.decodingError(at: decoder)
        }
    }
}
