import Data
import Foundation
import NN
import SafeTensors
import TensorEngine
import TestSupport
import Settings
import XCTest
@testable import Training

/// The resident training state: steps change the weights and their fingerprint, optimiser
/// changes reset the state, schedules follow the step count, stops apply a step whole or
/// not at all, and a checkpoint resumes exactly.
final class TrainingSessionTests: XCTestCase {
    func data() -> Dataset {
        Dataset(name: "toy", images: TestTensors.uniform([40, 1, 28, 28], 0, 1, seed: 61), labels: (0..<40).map { $0 % 10 },
                classes: Dataset.digitClasses)
    }

    func consistent() throws -> TrainingObjective {
        .consistent(lambda: 0.1, layers: ["8"], featureReduction: .sum, adversary: try Adversary(method: .pgd, epsilon: 0.1, stepSize: 0.03, steps: 3))
    }

    /// n steps over the seeded stream of `data`, the cursor moving as the daemon moves it.
    func run(_ s: TrainingSession, _ d: Dataset, steps n: Int, seed: UInt64, objective: TrainingObjective) throws {
        if s.cursor == nil || !s.cursor!.continues(dataset: d.name, count: d.count, batchSize: 16, seed: seed) {
            s.cursor = DataCursor(dataset: d.name, count: d.count, batchSize: 16, seed: seed)
        }
        for _ in 0..<n {
            let (x, y) = d.batch(s.cursor!.indices)
            _ = try XCTUnwrap(try s.step(images: x, labels: y, objective: objective, seed: seed))
            s.cursor!.position += 1
        }
    }

    func weights(_ m: Model) -> [[Float]] { (m.parameters + m.buffers).map(\.value.data) }

    /// 2N steps equal N steps, a checkpoint written to disk and read back into a freshly
    /// loaded model, and N more steps: bit for bit (weights, and the optimiser state), with
    /// SGD+Nesterov+weight decay and a cosine schedule, and with AdamW and warmup.
    func testTwoNStepsEqualNStepsSaveLoadAndNSteps() throws {
        let d = data()
        let configs: [(OptimizerConfig, LearningRateSchedule)] = [
            (try OptimizerConfig(kind: .sgd, learningRate: 0.05, momentum: 0.9, nesterov: true, weightDecay: 5e-4),
             try LearningRateSchedule(kind: .cosine, totalSteps: 6)),
            (try OptimizerConfig(kind: .adamw, learningRate: 2e-3), try LearningRateSchedule(kind: .step, warmupSteps: 2, stepSize: 2, gamma: 0.5)),
        ]
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("advlens-resume-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for (optimizer, schedule) in configs {
            let n = 4   // 40 images in batches of 16: the stream crosses an epoch boundary in 2N
            let straight = TrainingSession(model: try Architectures.create("mnist-small", seed: 9), optimizer: optimizer, schedule: schedule)
            try run(straight, d, steps: 2 * n, seed: 77, objective: try consistent())

            let first = TrainingSession(model: try Architectures.create("mnist-small", seed: 9), optimizer: optimizer, schedule: schedule)
            try run(first, d, steps: n, seed: 77, objective: try consistent())
            let spec = dir.appendingPathComponent("m.json"), w = dir.appendingPathComponent("m.safetensors")
            try first.model.save(specTo: spec, weightsTo: w)
            let statePath = URL(fileURLWithPath: TrainingCheckpoint.path(forWeights: w.path))
            try SafeTensorsFile.writeAtomically(try TrainingCheckpoint.encode(first), to: statePath)

            let loaded = try Model.load(specAt: spec, weightsAt: w)
            let resumed = try TrainingCheckpoint.decode(try Data(contentsOf: statePath), for: loaded)
            XCTAssertEqual(resumed.stepCount, n)
            XCTAssertEqual(resumed.cursor, first.cursor)
            try run(resumed, d, steps: n, seed: 77, objective: try consistent())
            XCTAssertEqual(resumed.stepCount, 2 * n)
            XCTAssertEqual(weights(resumed.model), weights(straight.model), "\(optimizer.kind)")
            XCTAssertEqual(resumed.model.fingerprint, straight.model.fingerprint)
            XCTAssertEqual(resumed.optimizer.stateTensors(resumed.model.parameters), straight.optimizer.stateTensors(straight.model.parameters))

            // Without the optimiser state the continuation differs (the test can fail).
            let cold = TrainingSession(model: try Model.load(specAt: spec, weightsAt: w), optimizer: optimizer, schedule: schedule, stepCount: n)
            cold.cursor = first.cursor
            try run(cold, d, steps: n, seed: 77, objective: try consistent())
            XCTAssertNotEqual(weights(cold.model), weights(straight.model))
        }
    }

    func testAStateForOtherWeightsIsRefused() throws {
        let s = TrainingSession(model: try Architectures.create("mnist-small", seed: 9), optimizer: try OptimizerConfig(kind: .sgd, momentum: 0.9))
        try run(s, data(), steps: 1, seed: 1, objective: .standard)
        let state = try TrainingCheckpoint.encode(s)
        XCTAssertThrowsError(try TrainingCheckpoint.decode(state, for: try Architectures.create("mnist-small", seed: 9))) {
            XCTAssertTrue("\($0)".contains("belongs to weights"), "\($0)")
        }
    }

    func testAStepChangesTheFingerprintAndCountsSteps() throws {
        let s = TrainingSession(model: try Architectures.create("mnist-small", seed: 9), optimizer: try OptimizerConfig(kind: .sgd))
        let before = s.model.fingerprint
        let d = data()
        let (x, y) = d.batch(Array(0..<8))
        let r = try XCTUnwrap(try s.step(images: x, labels: y, objective: .standard, seed: 0))
        XCTAssertEqual(r.step, 1)
        XCTAssertNotEqual(s.model.fingerprint, before)
        XCTAssertNil(r.adversarialAccuracy)
        let pgd = try XCTUnwrap(try s.step(images: x, labels: y, objective: .pgd(try Adversary(method: .pgd, steps: 2)), seed: 0))
        XCTAssertEqual(pgd.step, 2)
        XCTAssertNotNil(pgd.cleanAccuracy)
        XCTAssertNotNil(pgd.adversarialAccuracy)
        XCTAssertEqual(Set(pgd.parts.keys), ["adversarialCrossEntropy"])
    }

    func testAStopDuringTheAdversaryAppliesNothing() throws {
        let s = TrainingSession(model: try Architectures.create("mnist-small", seed: 9), optimizer: try OptimizerConfig(kind: .sgd, momentum: 0.9))
        let before = weights(s.model)
        let (x, y) = data().batch(Array(0..<8))
        var polls = 0
        let r = try s.step(images: x, labels: y, objective: try consistent(), seed: 0, shouldStop: { polls += 1; return polls > 2 })
        XCTAssertNil(r)
        XCTAssertEqual(weights(s.model), before)
        XCTAssertEqual(s.stepCount, 0)
        XCTAssertTrue(s.optimizer.stateTensors(s.model.parameters).isEmpty)
    }

    func testChangingTheOptimizerResetsItsStateAndKeepsTheStepCount() throws {
        let s = TrainingSession(model: try Architectures.create("mnist-small", seed: 9), optimizer: try OptimizerConfig(kind: .sgd, momentum: 0.9))
        let (x, y) = data().batch(Array(0..<8))
        _ = try s.step(images: x, labels: y, objective: .standard, seed: 0)
        XCTAssertFalse(s.optimizer.stateTensors(s.model.parameters).isEmpty)
        XCTAssertFalse(s.setOptimizer(try OptimizerConfig(kind: .sgd, momentum: 0.9)))
        XCTAssertFalse(s.optimizer.stateTensors(s.model.parameters).isEmpty)
        XCTAssertTrue(s.setOptimizer(try OptimizerConfig(kind: .sgd, momentum: 0.5)))
        XCTAssertTrue(s.optimizer.stateTensors(s.model.parameters).isEmpty)
        XCTAssertEqual(s.stepCount, 1)
    }

    func testSchedules() throws {
        XCTAssertEqual(LearningRateSchedule.constant.learningRate(base: 0.1, step: 99), 0.1)
        let step = try LearningRateSchedule(kind: .step, stepSize: 10, gamma: 0.5)
        XCTAssertEqual([0, 9, 10, 25].map { step.learningRate(base: 0.1, step: $0) }, [0.1, 0.1, 0.05, 0.025])
        let cosine = try LearningRateSchedule(kind: .cosine, warmupSteps: 2, totalSteps: 6, minLearningRate: 0.01)
        let values = (0..<8).map { cosine.learningRate(base: 0.1, step: $0) }
        XCTAssertEqual(values[0], 0.05, accuracy: 1e-7)
        XCTAssertEqual(values[1], 0.1, accuracy: 1e-7)
        XCTAssertEqual(values[2], 0.1, accuracy: 1e-7)
        XCTAssertEqual(values[4], 0.055, accuracy: 1e-6)   // halfway: (0.1 + 0.01) / 2
        XCTAssertEqual(values[6], 0.01, accuracy: 1e-7)
        XCTAssertEqual(values[7], 0.01, accuracy: 1e-7)
        let linear = try LearningRateSchedule(kind: .linear, totalSteps: 4)
        XCTAssertEqual((0..<5).map { linear.learningRate(base: 0.1, step: $0) }, [0.1, 0.075, 0.05, 0.025, 0].map { Float($0) })
        XCTAssertThrowsError(try LearningRateSchedule(kind: .cosine)) { XCTAssertEqual(($0 as! TrainingError).field, "totalSteps") }
        XCTAssertThrowsError(try LearningRateSchedule(kind: .constant, gamma: 0.1)) { XCTAssertEqual(($0 as! TrainingError).field, "gamma") }
    }

    func testTheCursorWalksEveryItemOncePerEpoch() {
        var c = DataCursor(dataset: "d", count: 10, batchSize: 4, seed: 3)
        var epoch: [Int] = []
        for _ in 0..<3 { epoch += c.indices; c.position += 1 }
        XCTAssertEqual(epoch.sorted(), Array(0..<10))
        XCTAssertEqual(c.indices.count, 4)
        XCTAssertNotEqual(c.indices + { var d = c; d.position += 1; return d.indices }(), Array(epoch.prefix(8)))
    }
}
