import Settings

/// `attack`: adversarial examples for a batch of inputs, against one resident model or a
/// weighted ensemble. The adversarial batch is kept by the server as a result handle that
/// predict (and later probe, explainPrediction, trainStep) accept as input.
///
/// Parameters left out take the method's defaults (see protocol/attack.md); `config` in the
/// result echoes every value used, seed included, so a call can be repeated exactly.
public enum AttackMethod: RequestType {
    public static let method = "attack"

    /// The request: whom to attack and on what (its own fields), and the attack's settings
    /// (`AttackConfig`, the one definition of them), side by side in one params object.
    public struct Params: Codable, Sendable {
        /// One model by name, or `models` for an ensemble (exactly one of the two).
        public var model: String?
        public var models: [WeightedModel]?
        /// The method and its parameters (method, norm, epsilon, stepSize, ...).
        public var settings: AttackConfig
        public var inputs: Inputs
        /// True labels; dataset references and handles carry their own; for tensors, PNGs and
        /// paths without labels the model's clean predictions are used.
        public var labels: [Int]?
        /// Models to judge the adversarial batch on as well: the transfer matrix.
        public var evaluateOn: [String]?
        /// What to send back beyond the per-sample table.
        public var `return`: ReturnOptions?
        public var workDoneToken: ProgressToken?

        public init(model: String? = nil, models: [WeightedModel]? = nil, settings: AttackConfig, inputs: Inputs) {
            self.model = model
            self.models = models
            self.settings = settings
            self.inputs = inputs
        }

        private enum CodingKeys: String, CodingKey { case model, models, inputs, labels, evaluateOn, `return`, workDoneToken }

        /// The settings read their keys from the same object (the strict decoder counts both
        /// groups as known).
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            model = try c.decodeIfPresent(String.self, forKey: .model)
            models = try c.decodeIfPresent([WeightedModel].self, forKey: .models)
            settings = try AttackConfig(from: decoder)
            inputs = try c.decode(Inputs.self, forKey: .inputs)
            labels = try c.decodeIfPresent([Int].self, forKey: .labels)
            evaluateOn = try c.decodeIfPresent([String].self, forKey: .evaluateOn)
            self.return = try c.decodeIfPresent(ReturnOptions.self, forKey: .return)
            workDoneToken = try c.decodeIfPresent(ProgressToken.self, forKey: .workDoneToken)
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encodeIfPresent(model, forKey: .model)
            try c.encodeIfPresent(models, forKey: .models)
            try settings.encode(to: encoder)
            try c.encode(inputs, forKey: .inputs)
            try c.encodeIfPresent(labels, forKey: .labels)
            try c.encodeIfPresent(evaluateOn, forKey: .evaluateOn)
            try c.encodeIfPresent(self.return, forKey: .return)
            try c.encodeIfPresent(workDoneToken, forKey: .workDoneToken)
        }
    }

    public struct WeightedModel: Codable, Sendable, Equatable {
        public var name: String
        /// Relative weight (normalised to sum 1 over the ensemble); default 1.
        public var weight: Float?
        public init(name: String, weight: Float? = nil) { self.name = name; self.weight = weight }
    }

    public struct ReturnOptions: Codable, Sendable {
        /// Include the adversarial images as a tensor.
        public var images: Bool?
        /// Include the perturbations (adversarial - original) as a tensor.
        public var perturbations: Bool?
        /// Directory (inside rootPath) to write one PNG per sample into: original |
        /// adversarial | perturbation amplified to full contrast.
        public var png: String?
        /// At most this many PNGs (default 64).
        public var pngLimit: Int?
        /// Each pixel drawn as scale × scale (default 4).
        public var pngScale: Int?
        public init(images: Bool? = nil, perturbations: Bool? = nil, png: String? = nil, pngLimit: Int? = nil, pngScale: Int? = nil) {
            self.images = images
            self.perturbations = perturbations
            self.png = png
            self.pngLimit = pngLimit
            self.pngScale = pngScale
        }
    }

    public struct Result: Codable, Sendable {
        /// The adversarial batch kept by the server: `{"handle": id}` as an input elsewhere.
        public var handle: String
        public var samples: [Sample]
        public var summary: Summary
        /// Every parameter used, defaults filled in, with the models and their fingerprints.
        public var config: Config
        public var transfer: [Transfer]?
        public var images: WireTensor?
        public var perturbations: WireTensor?
        public var png: [String]?

        public init(handle: String, samples: [Sample], summary: Summary, config: Config, transfer: [Transfer]?, images: WireTensor?, perturbations: WireTensor?, png: [String]?) {
            self.handle = handle
            self.samples = samples
            self.summary = summary
            self.config = config
            self.transfer = transfer
            self.images = images
            self.perturbations = perturbations
            self.png = png
        }
    }

    public struct Sample: Codable, Sendable {
        public var index: Int
        /// Which input image it was made from (several targets per image share one source).
        public var source: Int
        public var label: Int
        public var target: Int?
        public var adversarialLabel: Int
        /// Untargeted: the model now misclassifies it. Targeted: it now predicts the target.
        public var success: Bool
        /// Whether the model classified the clean image correctly before the attack.
        public var cleanCorrect: Bool
        public var linf: Float
        public var l2: Float
        public var confidence: Float
        public var iterations: Int

        public init(index: Int, source: Int, label: Int, target: Int?, adversarialLabel: Int, success: Bool, cleanCorrect: Bool, linf: Float, l2: Float, confidence: Float, iterations: Int) {
            self.index = index
            self.source = source
            self.label = label
            self.target = target
            self.adversarialLabel = adversarialLabel
            self.success = success
            self.cleanCorrect = cleanCorrect
            self.linf = linf
            self.l2 = l2
            self.confidence = confidence
            self.iterations = iterations
        }
    }

    public struct Summary: Codable, Sendable {
        public var count: Int
        /// Samples the attack tried: untargeted, those the model got right before the attack
        /// (a clean mistake is no success of the attack); targeted, all.
        public var attacked: Int
        /// Fraction of the attacked samples that succeeded.
        public var successRate: Double
        /// Fraction of samples the (ensemble) model still classifies correctly.
        public var robustAccuracy: Double
        /// Accuracy on the clean inputs before the attack.
        public var cleanAccuracy: Double
        /// Norms over the successful attacked samples.
        public var meanLinf: Float
        public var medianLinf: Float
        public var meanL2: Float
        public var medianL2: Float
        public var elapsedMs: Double
        public var imagesPerSecond: Double
        /// True when a cancel stopped the attack (results are the best so far).
        public var stoppedEarly: Bool

        public init(count: Int, attacked: Int, successRate: Double, robustAccuracy: Double, cleanAccuracy: Double, meanLinf: Float, medianLinf: Float, meanL2: Float, medianL2: Float, elapsedMs: Double, imagesPerSecond: Double, stoppedEarly: Bool) {
            self.count = count
            self.attacked = attacked
            self.successRate = successRate
            self.robustAccuracy = robustAccuracy
            self.cleanAccuracy = cleanAccuracy
            self.meanLinf = meanLinf
            self.medianLinf = medianLinf
            self.meanL2 = meanL2
            self.medianL2 = medianL2
            self.elapsedMs = elapsedMs
            self.imagesPerSecond = imagesPerSecond
            self.stoppedEarly = stoppedEarly
        }
    }

    /// The attack as it ran: every setting resolved (defaults filled in, seed included) and
    /// the models with their fingerprints, in one object.
    public struct Config: Codable, Sendable {
        public var settings: AttackConfig
        public var models: [ConfigModel]

        public init(settings: AttackConfig, models: [ConfigModel]) {
            self.settings = settings
            self.models = models
        }

        private enum CodingKeys: String, CodingKey { case models }

        public init(from decoder: Decoder) throws {
            settings = try AttackConfig(from: decoder)
            models = try decoder.container(keyedBy: CodingKeys.self).decode([ConfigModel].self, forKey: .models)
        }

        public func encode(to encoder: Encoder) throws {
            try settings.encode(to: encoder)
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(models, forKey: .models)
        }
    }

    public struct ConfigModel: Codable, Sendable {
        public var name: String
        public var weight: Float
        public var fingerprint: String

        public init(name: String, weight: Float, fingerprint: String) {
            self.name = name
            self.weight = weight
            self.fingerprint = fingerprint
        }
    }

    /// Success of the adversarial batch on another model.
    public struct Transfer: Codable, Sendable {
        public var model: String
        public var successRate: Double
        public var robustAccuracy: Double

        public init(model: String, successRate: Double, robustAccuracy: Double) {
            self.model = model
            self.successRate = successRate
            self.robustAccuracy = robustAccuracy
        }
    }
}
