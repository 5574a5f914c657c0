import Settings

/// `trainStep`: optimiser steps on a resident model (write access: it waits for the model's
/// running reads and holds new ones back). The optimiser and its state, the schedule, the
/// step count and the batch cursor stay with the model between calls and go into model/save.
/// See protocol/training.md for every default and the loss definitions.
public enum TrainStep: RequestType {
    public static let method = "trainStep"

    public struct Params: Codable, Sendable {
        public var model: String
        /// Default {"kind": "standard"}.
        public var objective: Objective?
        /// Batches from a loaded dataset: a seeded shuffled stream that continues across calls
        /// while (dataset, batchSize, seed) stay the same. Exactly one of dataset or inputs.
        public var dataset: String?
        /// Default 64.
        public var batchSize: Int?
        /// Shuffling and every random choice of a step (default 0).
        public var seed: UInt64?
        /// One fixed batch instead (tensor, dataset references, handles), with `labels` unless
        /// the sources carry them.
        public var inputs: Inputs?
        public var labels: [Int]?
        /// Left out: the resident optimiser (SGD lr 0.01 the first time). A different one
        /// replaces it and drops its state.
        public var optimizer: OptimizerConfig?
        /// Left out: the resident schedule (constant the first time).
        public var schedule: LearningRateSchedule?
        /// Steps this call takes (default 1, at most 100000).
        public var steps: Int?
        public var workDoneToken: ProgressToken?

        public init(model: String, objective: Objective? = nil, dataset: String? = nil, batchSize: Int? = nil, seed: UInt64? = nil,
                    inputs: Inputs? = nil, labels: [Int]? = nil, optimizer: OptimizerConfig? = nil, schedule: LearningRateSchedule? = nil, steps: Int? = nil) {
            self.model = model
            self.objective = objective
            self.dataset = dataset
            self.batchSize = batchSize
            self.seed = seed
            self.inputs = inputs
            self.labels = labels
            self.optimizer = optimizer
            self.schedule = schedule
            self.steps = steps
        }
    }

    public struct Objective: Codable, Sendable, Equatable {
        /// standard, pgd, trades, consistent.
        public var kind: ObjectiveKind
        /// trades: weight of the KL term (default 6, TRADES' MNIST setting).
        public var beta: Float?
        /// consistent: weight of the feature distance (default 1).
        public var lambda: Float?
        /// consistent: the layers φ whose features are compared (default: the penultimate
        /// layer, the input of the last one).
        public var layers: [String]?
        /// consistent: "sum" (default, ‖·‖²) or "mean" over each layer's features.
        public var featureReduction: FeatureReduction?
        public var adversary: Adversary?

        public init(kind: ObjectiveKind, beta: Float? = nil, lambda: Float? = nil, layers: [String]? = nil, featureReduction: FeatureReduction? = nil,
                    adversary: Adversary? = nil) {
            self.kind = kind
            self.beta = beta
            self.lambda = lambda
            self.layers = layers
            self.featureReduction = featureReduction
            self.adversary = adversary
        }
    }

    public struct Adversary: Codable, Sendable, Equatable {
        /// fgsm, pgd, llc, kl. Default: pgd for pgd, kl for trades, fgsm for consistent.
        public var method: AdversaryMethod?
        public var epsilon: Float?
        public var stepSize: Float?
        public var steps: Int?
        public var randomStart: Bool?

        public init(method: AdversaryMethod? = nil, epsilon: Float? = nil, stepSize: Float? = nil, steps: Int? = nil, randomStart: Bool? = nil) {
            self.method = method
            self.epsilon = epsilon
            self.stepSize = stepSize
            self.steps = steps
            self.randomStart = randomStart
        }
    }

    /// One step's figures.
    public struct StepReport: Codable, Sendable {
        /// The model's step count after this step.
        public var step: Int
        public var learningRate: Float
        /// The minimised loss: the weighted sum of the parts.
        public var loss: Float
        /// Unweighted parts: cleanCrossEntropy, adversarialCrossEntropy, kl, featureDistance.
        public var parts: [String: Float]
        /// Batch accuracies from the step's own forward passes (pgd: clean in eval mode).
        public var cleanAccuracy: Double?
        public var adversarialAccuracy: Double?

        public init(step: Int, learningRate: Float, loss: Float, parts: [String: Float], cleanAccuracy: Double?, adversarialAccuracy: Double?) {
            self.step = step
            self.learningRate = learningRate
            self.loss = loss
            self.parts = parts
            self.cleanAccuracy = cleanAccuracy
            self.adversarialAccuracy = adversarialAccuracy
        }
    }

    public struct Result: Codable, Sendable {
        /// Steps this call applied (fewer than asked only in a cancel's partial result).
        public var steps: Int
        /// The model's cumulative step count.
        public var stepCount: Int
        /// The weights fingerprint after the last step.
        public var fingerprint: String
        /// Means over this call's steps.
        public var loss: Float
        public var parts: [String: Float]
        public var cleanAccuracy: Double?
        public var adversarialAccuracy: Double?
        /// Per step (at most the last 1000).
        public var history: [StepReport]
        /// The resolved objective, optimiser and schedule in force.
        public var objective: Objective
        public var optimizer: OptimizerConfig
        public var schedule: LearningRateSchedule
        /// True when this call's optimiser differed from the resident one, whose state was dropped.
        public var optimizerReset: Bool
        /// Where the dataset stream is: the next batch's index in it.
        public var batchPosition: Int?
        public var elapsedMs: Double
        public var stepsPerSecond: Double

        public init(steps: Int, stepCount: Int, fingerprint: String, loss: Float, parts: [String: Float], cleanAccuracy: Double?,
                    adversarialAccuracy: Double?, history: [StepReport], objective: Objective, optimizer: OptimizerConfig, schedule: LearningRateSchedule,
                    optimizerReset: Bool, batchPosition: Int?, elapsedMs: Double, stepsPerSecond: Double) {
            self.steps = steps
            self.stepCount = stepCount
            self.fingerprint = fingerprint
            self.loss = loss
            self.parts = parts
            self.cleanAccuracy = cleanAccuracy
            self.adversarialAccuracy = adversarialAccuracy
            self.history = history
            self.objective = objective
            self.optimizer = optimizer
            self.schedule = schedule
            self.optimizerReset = optimizerReset
            self.batchPosition = batchPosition
            self.elapsedMs = elapsedMs
            self.stepsPerSecond = stepsPerSecond
        }
    }
}
