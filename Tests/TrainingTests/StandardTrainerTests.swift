import Data
import TensorEngine
import TestSupport
import XCTest
@testable import NN
@testable import Training

/// The training step itself (fast, in-process): it lowers the loss on a fixed batch, moves
/// batchnorm statistics in train mode only, and leaves eval predictions deterministic.
final class StandardTrainerTests: XCTestCase {
    func testStepsLowerTheLossOnAFixedBatch() throws {
        let model = try Architectures.create("mnist-small", seed: 1)
        let trainer = StandardTrainer(model: model, optimizer: Adam(learningRate: 3e-3))
        let x = TestTensors.uniform([16, 1, 28, 28], 0, 1, seed: 2)
        let y = (0..<16).map { $0 % 10 }
        let first = try trainer.step(images: x, labels: y)
        var last = first
        for _ in 0..<30 { last = try trainer.step(images: x, labels: y) }
        XCTAssertLessThan(last.loss, first.loss * 0.5)
        XCTAssertEqual(trainer.optimizer.stepCount, 31)
    }

    func testEvaluationCountsCorrectPredictions() throws {
        let model = try Architectures.create("mnist-small", seed: 1)
        let x = TestTensors.uniform([5, 1, 28, 28], 0, 1, seed: 3)
        let predicted = try model.predict(x).argmaxRows()
        let labels = predicted.enumerated().map { $0.offset < 3 ? $0.element : ($0.element + 1) % 10 }
        let data = Dataset(name: "t", images: x, labels: labels, classes: Dataset.digitClasses)
        XCTAssertEqual(try Evaluation.accuracy(model, on: data, batchSize: 2), 0.6, accuracy: 1e-9)
    }
}

/// The MNIST split is the one bench/pytorch_train_reference.py reimplements in Python from the
/// documented algorithm: the same first test indices prove both sides train on the same data.
final class MNISTSplitTests: XCTestCase {
    func testSplitMatchesTheIndependentPythonImplementation() throws {
        let all = try MNISTCSV.load(path: RepositoryPaths.data("mnist_5k.csv.gz").path)
        let (train, test) = try StratifiedSplit.split(labels: all.labels, testPerClass: MNISTSplit.testPerClass, seed: MNISTSplit.defaultSeed)
        XCTAssertEqual(Array(test.prefix(10)), [3, 5, 10, 23, 26, 28, 31, 38, 41, 44])
        XCTAssertEqual(train.count, 4000)
        XCTAssertEqual(Set(train).union(test).count, 5000)
    }
}
