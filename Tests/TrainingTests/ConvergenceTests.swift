import Foundation
import TestSupport
import XCTest

/// Accuracy to convergence: the full training recipes through the release `advlens-train`,
/// minutes each on 2 cores. Not in `make test` (which skips this class) but in `make test-long`
/// (`swift test --filter ConvergenceTests`), which CI runs after it. That training works at
/// all (losses fall, seeds reproduce, accuracy well above chance after a short run) is checked
/// in `make test` by TrainCommandTests, StandardTrainerTests and ShapesTrainingTests.
final class ConvergenceTests: XCTestCase, TrainCommandRunner {
    /// The recipe of the issue (Adam 1e-3, batch 64, 5 epochs on 4,000 images) reaches
    /// PyTorch's accuracy on the 1,000 held-out digits. bench/pytorch_train_reference.py
    /// measured PyTorch on this very split: mnist-small 0.9496 mean over seeds 0-4 (0.944 to
    /// 0.955), mnist-madry 0.9672 (0.965 to 0.969). The bar is PyTorch's worst seed.
    func testMnistSmallReachesPyTorchAccuracy() throws {
        let s = try train(["--arch", "mnist-small"], environment: cleanEnvironment)
        XCTAssertEqual(s.trainImages, 4000)
        XCTAssertEqual(s.testImages, 1000)
        XCTAssertGreaterThanOrEqual(s.testAccuracy, 0.944)
    }

    func testMnistMadryReachesPyTorchAccuracy() throws {
        let s = try train(["--arch", "mnist-madry"], environment: cleanEnvironment)
        XCTAssertGreaterThanOrEqual(s.testAccuracy, 0.965)
    }

    /// shapes-cnn on the generated shapes set (6,000 train / 1,000 test of seed 0), 5 epochs:
    /// measured 0.939 (0.974 after 8 epochs); the issue asks for at least 0.90.
    func testShapesCNNReachesNinetyPercent() throws {
        let s = try train(["--arch", "shapes-cnn", "--epochs", "5"], environment: cleanEnvironment)
        XCTAssertEqual(s.trainImages, 6000)
        XCTAssertEqual(s.testImages, 1000)
        XCTAssertGreaterThanOrEqual(s.testAccuracy, 0.90)
    }

}
