import Settings
import Data
import Foundation
import NN
import TensorEngine

/// A model's training state between steps: the optimiser (and its state: momentum buffers,
/// Adam's moments), the schedule, the model's cumulative step count and where the seeded
/// batch stream over a dataset has got to. The daemon keeps one beside each resident model
/// it trains; checkpoints (`TrainingCheckpoint`) save and restore it, so N + N steps equal
/// 2N bit for bit.
///
/// Every random choice of step t (the adversary's random start, dropout) comes from
/// `TrainingSession.stepSeed(seed, t)`, so nothing but the step count and the seed need
/// saving for an exact resume.
public final class TrainingSession {
    public let model: Model
    public private(set) var optimizerConfig: OptimizerConfig
    public private(set) var optimizer: Optimizer
    public var schedule: LearningRateSchedule
    /// Steps applied to this model by this state (kept across optimiser changes).
    public private(set) var stepCount: Int
    public var cursor: DataCursor?
    private let execution = Execution(mode: .train)
    private let evalExecution = Execution(mode: .eval)

    public init(model: Model, optimizer: OptimizerConfig, schedule: LearningRateSchedule = .constant, stepCount: Int = 0) {
        self.model = model
        self.optimizerConfig = optimizer
        self.optimizer = optimizer.make()
        self.schedule = schedule
        self.stepCount = stepCount
    }

    /// Uses `config` from now on. A different configuration starts a fresh optimiser (its
    /// state is dropped); the same one keeps the state. Returns whether the state was reset.
    @discardableResult
    public func setOptimizer(_ config: OptimizerConfig) -> Bool {
        guard config != optimizerConfig else { return false }
        optimizerConfig = config
        optimizer = config.make()
        return true
    }

    /// Restores optimiser state saved by `TrainingCheckpoint`.
    func restore(optimizerState: [String: Tensor], optimizerSteps: Int) {
        optimizer.restore(optimizerState, stepCount: optimizerSteps, model.parameters)
    }

    /// The learning rate of the next step.
    public var learningRate: Float { schedule.learningRate(base: optimizerConfig.learningRate, step: stepCount) }

    /// What one step did.
    public struct StepReport: Sendable {
        public var step: Int
        public var learningRate: Float
        public var loss: Float
        public var parts: [String: Float]
        public var cleanAccuracy: Double?
        public var adversarialAccuracy: Double?
    }

    /// One step of `objective` on the batch. x* is made first, in eval mode, without touching
    /// the model; only then do the train-mode passes (which move batchnorm statistics) and the
    /// update run, with no stop check between them. So a stop either comes before any change
    /// (nil: nothing applied) or the whole step is applied.
    public func step(images: Tensor, labels: [Int], objective: TrainingObjective, seed: UInt64,
                     shouldStop: @escaping () -> Bool = { false }) throws -> StepReport? {
        if let bad = labels.firstIndex(where: { $0 < 0 || $0 >= model.classCount }) {
            throw TrainingError.invalid("labels[\(bad)]", "\(labels[bad]) is not a class index 0..<\(model.classCount)")
        }
        guard labels.count == images.batch else { throw TrainingError.invalid("labels", "\(labels.count) labels for \(images.batch) images") }
        let stepSeed = TrainingSession.stepSeed(seed, stepCount)
        var adversarial: Tensor?
        var cleanCorrect: Int?
        if let adversary = objective.adversary {
            guard let x = try adversary.examples(model, images: images, labels: labels, seed: stepSeed, shouldStop: shouldStop) else { return nil }
            adversarial = x
            if case .pgd = objective {
                // Madry's objective has no clean pass; the clean accuracy is measured in eval mode.
                let logits = try model.predict(images, evalExecution)
                cleanCorrect = zip(logits.argmaxRows(), labels).filter { $0 == $1 }.count
            }
        }
        if shouldStop() { return nil }
        let lr = learningRate
        // What the step may change, kept to put back if it goes non-finite (copy-on-write: the
        // copies are made only as the step writes, once per tensor).
        let saved = (parameters: model.parameters.map(\.value), buffers: model.buffers.map(\.value),
                     optimizer: optimizer.stateTensors(model.parameters), optimizerSteps: optimizer.stepCount)
        func rollBack(_ what: String) -> NonFiniteStep {
            for (p, v) in zip(model.parameters, saved.parameters) { p.value = v }
            for (b, v) in zip(model.buffers, saved.buffers) { b.value = v }
            optimizer.restore(saved.optimizer, stepCount: saved.optimizerSteps, model.parameters)
            return NonFiniteStep(step: stepCount + 1, what: what)
        }
        execution.mode = .train
        execution.updateRunningStatistics = true
        execution.rng = SeededRNG(seed: stepSeed ^ 0x6472_6F70_6F75_74)   // dropout's stream, apart from the adversary's
        execution.itemSeed = stepSeed ^ 0x7374_6F63_6864_6570                // stochastic depth's, per item of the step's batch
        execution.itemOffset = 0
        // The forward records are released before the update, so the optimiser writes the
        // weights in place.
        let outcome = try objective.evaluate(model, clean: images, adversarial: adversarial, labels: labels, execution)
        guard outcome.total.isFinite, outcome.parts.values.allSatisfy(\.isFinite) else {
            throw rollBack("the loss (\(outcome.total))")
        }
        if let bad = model.parameters.first(where: { p in outcome.gradients[p].map { !$0.allFinite } ?? false }) {
            throw rollBack("the gradient of \(bad.name)")
        }
        optimizer.learningRate = lr
        optimizer.step(model.parameters, outcome.gradients)
        // Finite weights can still overflow (a huge step leaves weights near 1e37): a weight
        // beyond about sqrt(Float.max) cannot take part in a product without risking overflow,
        // so the step is refused; then up to 16 images through the updated model in eval mode.
        // Not one: on a few images the small planes of a network's last layers take products of
        // a few columns, whose filters are packed apart (Conv2d+NarrowProduct.swift) for that
        // forward alone after every step (5-10 ms of a ResNet-18-32 step); sixteen take the
        // products the next step's passes use.
        if let bad = model.parameters.first(where: { !$0.value.allFinite }) { throw rollBack("the weights of \(bad.name)") }
        if let bad = model.parameters.first(where: { $0.value.maxAbs() > Self.weightLimit }) {
            throw rollBack("a weight of \(bad.name) beyond ±\(Self.weightLimit) (from there a product can overflow)")
        }
        if !(try model.predict(images.slice(0..<min(images.batch, 16)), evalExecution)).allFinite { throw rollBack("the logits of the updated model") }
        stepCount += 1
        let n = Double(labels.count)
        return StepReport(step: stepCount, learningRate: lr, loss: outcome.total, parts: outcome.parts,
                          cleanAccuracy: (outcome.cleanCorrect ?? cleanCorrect).map { Double($0) / n },
                          adversarialAccuracy: outcome.adversarialCorrect.map { Double($0) / n })
    }

    /// The largest weight magnitude a step may leave: about sqrt(Float.greatestFiniteMagnitude).
    public static let weightLimit: Float = 1e18

    /// The seed of step t's random choices: SplitMix64's finaliser of seed + (t+1)·golden.
    public static func stepSeed(_ seed: UInt64, _ t: Int) -> UInt64 { Batches.epochSeed(seed ^ 0x5472_6169_6E, epoch: t) }
}

/// Where a seeded stream of batches over a dataset has got to: batch `position` of the
/// stream is batch position % B of epoch position / B (B batches per epoch, the last one
/// shorter), with `Batches(count:batchSize:shuffle: true, seed:)` orders.
public struct DataCursor: Codable, Sendable, Equatable {
    public var dataset: String
    public var count: Int
    public var batchSize: Int
    public var seed: UInt64
    public var position: Int

    public init(dataset: String, count: Int, batchSize: Int, seed: UInt64, position: Int = 0) {
        (self.dataset, self.count, self.batchSize, self.seed, self.position) = (dataset, count, batchSize, seed, position)
    }

    /// Whether a request for this stream continues this cursor.
    public func continues(dataset: String, count: Int, batchSize: Int, seed: UInt64) -> Bool {
        self.dataset == dataset && self.count == count && self.batchSize == batchSize && self.seed == seed
    }

    /// The item indices of the batch at the cursor (the cursor is not moved).
    public var indices: [Int] {
        let batches = Batches(count: count, batchSize: batchSize, shuffle: true, seed: seed)
        let perEpoch = batches.batchCount
        let epochOrder = batches.forEpoch(position / perEpoch).order
        let start = (position % perEpoch) * batchSize
        return Array(epochOrder[start..<min(start + batchSize, count)])
    }
}

/// A training step whose loss, gradients, new weights or new logits were not finite: the
/// step was undone whole (weights, batchnorm statistics, optimiser state), so nothing
/// non-finite reaches the resident model. `step` is the model step it would have been.
public struct NonFiniteStep: Error, CustomStringConvertible {
    public let step: Int
    public let what: String
    public var description: String { "step \(step) made \(what) non-finite; it was rolled back" }
}
