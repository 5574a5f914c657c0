import Data
import Foundation
import NN
import TensorEngine

/// Standard supervised training: mean softmax cross-entropy on clean batches.
///
/// One trainer owns a model's optimiser and a reusable execution (scratch memory), so a loop
/// of steps allocates its large buffers once. The daemon's trainStep calls `step`; the
/// training command calls `fit`.
public final class StandardTrainer {
    public let model: Model
    public let optimizer: Optimizer
    private let execution: Execution

    public init(model: Model, optimizer: Optimizer, seed: UInt64 = 0) {
        self.model = model
        self.optimizer = optimizer
        self.execution = Execution(mode: .train, seed: seed)
    }

    /// What one step measured.
    public struct StepResult: Sendable {
        public var loss: Float
        /// Accuracy of the batch before the update (from the same forward pass).
        public var accuracy: Double
    }

    /// One optimiser step on a batch.
    public func step(images: Tensor, labels: [Int]) throws -> StepResult {
        execution.mode = .train
        // The forward record is released before the update, so the optimiser writes the
        // weights in place (nothing else holds them) and the activations' memory is free.
        let (loss, correct, grads) = try { () throws -> (LossResult, Int, Model.Gradients) in
            let out = try model.forward(images, execution, record: true)
            let loss = Loss.crossEntropy(logits: out.logits, labels: labels, reduction: .mean)
            let grads = try model.backward(out.trace!, seeds: ["logits": loss.gradient], input: false, parameters: true, execution)
            let correct = zip(out.logits.argmaxRows(), labels).filter { $0 == $1 }.count
            return (loss, correct, grads)
        }()
        optimizer.step(model.parameters, grads.parameters)
        return StepResult(loss: loss.value, accuracy: Double(correct) / Double(labels.count))
    }

    /// One epoch's summary.
    public struct EpochReport: Sendable, Codable {
        public var epoch: Int
        public var meanLoss: Double
        public var trainAccuracy: Double
        public var testAccuracy: Double?
        public var seconds: Double
    }

    /// Trains for `epochs` over `train` in seeded shuffled batches (`Batches(seed:)`, epoch e
    /// shuffled by its epoch seed), evaluating on `test` after each epoch when given.
    public func fit(train: Dataset, test: Dataset?, epochs: Int, batchSize: Int, seed: UInt64,
                    onEpoch: (EpochReport) -> Void = { _ in }) throws -> [EpochReport] {
        var reports: [EpochReport] = []
        let batches = Batches(count: train.count, batchSize: batchSize, shuffle: true, seed: seed)
        for epoch in 0..<epochs {
            let start = Date()
            var lossSum = 0.0, correct = 0.0, seen = 0
            for indices in batches.forEpoch(epoch) {
                let (x, y) = train.batch(indices)
                let r = try step(images: x, labels: y)
                lossSum += Double(r.loss) * Double(y.count)
                correct += r.accuracy * Double(y.count)
                seen += y.count
            }
            let testAccuracy = try test.map { try Evaluation.accuracy(model, on: $0) }
            let report = EpochReport(epoch: epoch + 1, meanLoss: lossSum / Double(max(seen, 1)),
                                     trainAccuracy: correct / Double(max(seen, 1)), testAccuracy: testAccuracy,
                                     seconds: Date().timeIntervalSince(start))
            reports.append(report)
            onEpoch(report)
        }
        return reports
    }
}
