import Data
import NN
import TensorEngine
import XCTest
@testable import Training

/// shapes-cnn on the generated shapes set: the architecture's geometry, and a short training
/// run (kept small for debug builds) that learns well above chance. The full recipe — 6,000
/// images, 94 % test accuracy after 5 epochs, 97 % after 8 — is `advlens-train --arch
/// shapes-cnn` (README; ConvergenceTests checks it, in `make test-long`).
final class ShapesTrainingTests: XCTestCase {
    func testShapesCNNLayersAndShapes() throws {
        let model = try Architectures.create("shapes-cnn", seed: 0)
        XCTAssertEqual(model.inputShape, [3, 64, 64])
        XCTAssertEqual(model.spec.classes, ShapesCatalog.classNames)
        let x = try ShapesSplit.make(train: 4, test: 1, seed: 0).train.images
        let out = try model.forward(x, Execution(), keep: ["fc1", "relu5", "res3.body.conv2", "pool4"])
        XCTAssertEqual(out.logits.shape, [4, 9])
        XCTAssertEqual(out.activations["fc1"]?.shape, [4, 128])
        XCTAssertEqual(out.activations["relu5"]?.shape, [4, 128])
        XCTAssertEqual(out.activations["res3.body.conv2"]?.shape, [4, 32, 16, 16])
        XCTAssertEqual(out.activations["pool4"]?.shape, [4, 64, 4, 4])
    }

    func testShortTrainingLearnsWellAboveChance() throws {
        let (train, test) = try ShapesSplit.make(train: 720, test: 180, seed: 21)
        let model = try Architectures.create("shapes-cnn", seed: 3)
        let before = try Evaluation.accuracy(model, on: test)
        let trainer = StandardTrainer(model: model, optimizer: Adam(learningRate: 4e-3), seed: 3)
        let reports = try trainer.fit(train: train, test: test, epochs: 2, batchSize: 32, seed: 3)
        let after = try XCTUnwrap(reports.last?.testAccuracy)
        // Chance is 1/9 (0.11); this run measured 0.37 (deterministic: fixed seeds, and the
        // engine's results do not depend on thread scheduling).
        XCTAssertEqual(before, 1.0 / 9, accuracy: 0.1)
        XCTAssertGreaterThan(after, 0.3, "test accuracy \(after) after 2 epochs (before: \(before))")
        XCTAssertLessThan(reports.last!.meanLoss, reports.first!.meanLoss)
    }
}
