/// `evaluate`: clean accuracy of a resident model on labelled inputs (a dataset, a split's
/// part, dataset references, handles or tensors with labels) and, with `attack`, its robust
/// accuracy: the fraction still classified correctly after the attack (a clean mistake
/// counts as not robust). Reads the model; progress per chunk; a cancel answers -32800 with
/// the figures over the chunks finished.
public enum Evaluate: RequestType {
    public static let method = "evaluate"

    public struct Params: Codable, Sendable {
        public var model: String
        /// A loaded dataset by name (e.g. "mnist-test" after a split), or `inputs`.
        public var dataset: String?
        public var inputs: Inputs?
        public var labels: [Int]?
        /// The attack, with the attack method's parameters (protocol/attack.md).
        public var attack: AttackSpec?
        /// Images per chunk (default 256): progress and cancel come between chunks.
        public var batchSize: Int?
        public var workDoneToken: ProgressToken?

        public init(model: String, dataset: String? = nil, inputs: Inputs? = nil, labels: [Int]? = nil, attack: AttackSpec? = nil,
                    batchSize: Int? = nil) {
            self.model = model
            self.dataset = dataset
            self.inputs = inputs
            self.labels = labels
            self.attack = attack
            self.batchSize = batchSize
        }
    }

    /// The attack method's parameters (the same names, defaults and checks).
    public struct AttackSpec: Codable, Sendable {
        public var method: String
        public var norm: String?
        public var epsilon: Float?
        public var stepSize: Float?
        public var steps: Int?
        public var restarts: Int?
        public var randomStart: Bool?
        public var decay: Float?
        public var targeted: Bool?
        public var target: AttackMethod.TargetSpec?
        public var kappa: Float?
        public var c: Float?
        public var binarySearchSteps: Int?
        public var learningRate: Float?
        public var lambda: Float?
        public var overshoot: Float?
        public var earlyStop: Bool?
        public var seed: UInt64?

        public init(method: String, epsilon: Float? = nil, stepSize: Float? = nil, steps: Int? = nil, seed: UInt64? = nil) {
            self.method = method
            self.epsilon = epsilon
            self.stepSize = stepSize
            self.steps = steps
            self.seed = seed
        }
    }

    public struct Result: Codable, Sendable {
        /// Images evaluated (fewer than given only in a cancel's partial result).
        public var count: Int
        public var cleanAccuracy: Double
        public var robustAccuracy: Double?
        /// The attack with every default filled in, as the attack method echoes it.
        public var attack: AttackMethod.Config?
        /// The weights evaluated.
        public var fingerprint: String
        public var elapsedMs: Double
        public var stoppedEarly: Bool

        public init(count: Int, cleanAccuracy: Double, robustAccuracy: Double?, attack: AttackMethod.Config?, fingerprint: String,
                    elapsedMs: Double, stoppedEarly: Bool) {
            self.count = count
            self.cleanAccuracy = cleanAccuracy
            self.robustAccuracy = robustAccuracy
            self.attack = attack
            self.fingerprint = fingerprint
            self.elapsedMs = elapsedMs
            self.stoppedEarly = stoppedEarly
        }
    }
}
