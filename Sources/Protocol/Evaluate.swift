import Settings

/// `evaluate`: clean accuracy of a resident model on labelled inputs (a dataset, a split's
/// part, dataset references, handles or tensors with labels) and, with `attack` or `attacks`,
/// its robust accuracy: the fraction still classified correctly after every attack (the worst
/// case per image; a clean mistake counts as not robust), per attack and cumulatively, over a
/// curve of epsilons, with gradient-masking checks. Reads the model; one progress stream over
/// chunks, points and attacks; a cancel answers -32800 with the figures over the chunks finished.
public enum Evaluate: RequestType {
    public static let method = "evaluate"

    public struct Params: Codable, Sendable {
        public var model: String
        /// A loaded dataset by name (e.g. "mnist-test" after a split), or `inputs`.
        public var dataset: String?
        public var inputs: Inputs?
        public var labels: [Int]?
        /// The attack, with the attack method's parameters (protocol/attack.md): `attacks`
        /// with one entry, echoed as `attack` too.
        public var attack: AttackConfig?
        /// Attacks in order: by default each runs only on the images still robust after the
        /// ones before it (AutoAttack's protocol).
        public var attacks: [AttackConfig]?
        /// A robustness curve: every attack's epsilon set to each in turn.
        public var epsilons: [Float]?
        /// Every attack on every correctly classified image (each attack's own robust
        /// accuracy; slower), instead of only on those the earlier ones left robust.
        public var independent: Bool?
        /// Per curve point, one row per image and a handle with the adversarials that broke them.
        public var perSample: Bool?
        /// Images per chunk (default 256): progress and cancel come between chunks.
        public var batchSize: Int?
        public var workDoneToken: ProgressToken?

        public init(model: String, dataset: String? = nil, inputs: Inputs? = nil, labels: [Int]? = nil, attack: AttackConfig? = nil,
                    attacks: [AttackConfig]? = nil, epsilons: [Float]? = nil, independent: Bool? = nil, perSample: Bool? = nil,
                    batchSize: Int? = nil) {
            self.model = model
            self.dataset = dataset
            self.inputs = inputs
            self.labels = labels
            self.attack = attack
            self.attacks = attacks
            self.epsilons = epsilons
            self.independent = independent
            self.perSample = perSample
            self.batchSize = batchSize
        }
    }

    public struct Result: Codable, Sendable {
        /// Images evaluated (fewer than given only in a cancel's partial result).
        public var count: Int
        public var cleanAccuracy: Double
        /// The worst case over every attack, when the curve has one point.
        public var robustAccuracy: Double?
        /// With `attack`: it with every default filled in, as the attack method echoes it.
        public var attack: AttackMethod.Config?
        /// The norm budgets are measured in (with attacks).
        public var norm: Norm?
        /// Whether every attack ran on every image (else only on those still robust).
        public var independent: Bool?
        /// One point per epsilon of `epsilons` (one point without epsilons), with attacks.
        public var curve: [CurvePoint]?
        /// Signs of gradient masking (with attacks; empty when none was seen).
        public var checks: [Check]?
        /// The weights evaluated.
        public var fingerprint: String
        public var elapsedMs: Double
        public var stoppedEarly: Bool

        public init(count: Int, cleanAccuracy: Double, robustAccuracy: Double?, attack: AttackMethod.Config?, norm: Norm? = nil,
                    independent: Bool? = nil, curve: [CurvePoint]? = nil, checks: [Check]? = nil, fingerprint: String,
                    elapsedMs: Double, stoppedEarly: Bool) {
            self.count = count
            self.cleanAccuracy = cleanAccuracy
            self.robustAccuracy = robustAccuracy
            self.attack = attack
            self.norm = norm
            self.independent = independent
            self.curve = curve
            self.checks = checks
            self.fingerprint = fingerprint
            self.elapsedMs = elapsedMs
            self.stoppedEarly = stoppedEarly
        }
    }

    /// Robustness at one epsilon (or at the attacks' own, without a curve).
    public struct CurvePoint: Codable, Sendable {
        public var epsilon: Float?
        /// Robust to every attack.
        public var robustAccuracy: Double
        /// In the order given.
        public var attacks: [AttackFigures]
        /// With perSample: one row per image.
        public var samples: [Sample]?
        /// With perSample, when an attack broke any image: those adversarials (sources: their indices).
        public var handle: String?
        /// The counts behind the figures and the checks: tallies of shards add up to the
        /// tally of their union (evaluate/checks takes them).
        public var tally: Tally

        public init(epsilon: Float?, robustAccuracy: Double, attacks: [AttackFigures], samples: [Sample]?, handle: String?, tally: Tally) {
            self.epsilon = epsilon
            self.robustAccuracy = robustAccuracy
            self.attacks = attacks
            self.samples = samples
            self.handle = handle
            self.tally = tally
        }
    }

    /// One curve point's counts over the images evaluated (per attack, in the list's order).
    public struct Tally: Codable, Sendable, Equatable {
        public var images: Int
        public var cleanCorrect: Int
        /// Per attack: images it ran on, broke within the budget, misclassified at any distance.
        public var attacked: [Int]
        public var broken: [Int]
        public var fooled: [Int]
        /// Per attack m: images still robust after attacks 0...m.
        public var robustAfter: [Int]
        /// [a][b]: images attack b ran on and left robust that attack a broke.
        public var brokenWhereOtherFailed: [[Int]]

        public init(images: Int, cleanCorrect: Int, attacked: [Int], broken: [Int], fooled: [Int], robustAfter: [Int],
                    brokenWhereOtherFailed: [[Int]]) {
            self.images = images
            self.cleanCorrect = cleanCorrect
            self.attacked = attacked
            self.broken = broken
            self.fooled = fooled
            self.robustAfter = robustAfter
            self.brokenWhereOtherFailed = brokenWhereOtherFailed
        }
    }

    /// One attack's figures at one point.
    public struct AttackFigures: Codable, Sendable {
        /// Resolved at the point's epsilon, as the attack method echoes it.
        public var config: AttackMethod.Config
        /// Images it ran on.
        public var attacked: Int
        /// Images it broke within the budget.
        public var broken: Int
        /// Its own robust accuracy, when it ran on every correctly classified image.
        public var robustAccuracy: Double?
        /// Robust to it and every attack before it.
        public var cumulativeRobustAccuracy: Double
        /// Misclassified at any distance, of the images it attacked.
        public var successRate: Double

        public init(config: AttackMethod.Config, attacked: Int, broken: Int, robustAccuracy: Double?, cumulativeRobustAccuracy: Double,
                    successRate: Double) {
            self.config = config
            self.attacked = attacked
            self.broken = broken
            self.robustAccuracy = robustAccuracy
            self.cumulativeRobustAccuracy = cumulativeRobustAccuracy
            self.successRate = successRate
        }
    }

    /// The worst case of one image.
    public struct Sample: Codable, Sendable {
        /// Its index among the images evaluated.
        public var index: Int
        public var label: Int
        public var cleanCorrect: Bool
        public var robust: Bool
        /// The first attack (index into the list) that broke it, the class it made and the distance.
        public var brokenBy: Int?
        public var adversarialLabel: Int?
        public var linf: Float?
        public var l2: Float?

        public init(index: Int, label: Int, cleanCorrect: Bool, robust: Bool, brokenBy: Int?, adversarialLabel: Int?, linf: Float?, l2: Float?) {
            self.index = index
            self.label = label
            self.cleanCorrect = cleanCorrect
            self.robust = robust
            self.brokenBy = brokenBy
            self.adversarialLabel = adversarialLabel
            self.linf = linf
            self.l2 = l2
        }
    }

    /// A sign of gradient masking (Carlini et al. 2019).
    public struct Check: Codable, Sendable {
        public var code: MaskingCheckCode
        public var epsilon: Float?
        /// The attacks involved (indices into the list).
        public var attacks: [Int]
        public var message: String

        public init(code: MaskingCheckCode, epsilon: Float?, attacks: [Int], message: String) {
            self.code = code
            self.epsilon = epsilon
            self.attacks = attacks
            self.message = message
        }
    }
}
