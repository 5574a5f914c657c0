import Settings

/// `evaluate/checks`: the gradient-masking checks of an evaluation from its per-point tallies,
/// computed as `evaluate` computes them. A Ray pool evaluates a dataset as shards on several
/// daemons; the checks compare counts over all images (an attack's own robust accuracy, the
/// images one attack broke where another failed), so the pool adds the shards' tallies
/// (`evaluate`'s `curve[].tally`) and asks one daemon for the checks of the sums. The attack
/// part of the params is `evaluate`'s, resolved the same way (errors name the same fields).
public enum EvaluateChecks: RequestType {
    public static let method = "evaluate/checks"

    public struct Params: Codable, Sendable {
        /// The model evaluated (attacks without a budget are judged against its input box).
        public var model: String
        public var attack: AttackConfig?
        public var attacks: [AttackConfig]?
        public var epsilons: [Float]?
        public var independent: Bool?
        /// One per curve point, in `epsilons`' order (one without epsilons).
        public var tallies: [Evaluate.Tally]

        public init(model: String, attack: AttackConfig? = nil, attacks: [AttackConfig]? = nil, epsilons: [Float]? = nil,
                    independent: Bool? = nil, tallies: [Evaluate.Tally]) {
            self.model = model
            self.attack = attack
            self.attacks = attacks
            self.epsilons = epsilons
            self.independent = independent
            self.tallies = tallies
        }
    }

    public struct Result: Codable, Sendable {
        /// As `evaluate`'s `checks`.
        public var checks: [Evaluate.Check]
        public init(checks: [Evaluate.Check]) { self.checks = checks }
    }
}
