import Settings

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
        public var attack: AttackConfig?
        /// Images per chunk (default 256): progress and cancel come between chunks.
        public var batchSize: Int?
        public var workDoneToken: ProgressToken?

        public init(model: String, dataset: String? = nil, inputs: Inputs? = nil, labels: [Int]? = nil, attack: AttackConfig? = nil,
                    batchSize: Int? = nil) {
            self.model = model
            self.dataset = dataset
            self.inputs = inputs
            self.labels = labels
            self.attack = attack
            self.batchSize = batchSize
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
