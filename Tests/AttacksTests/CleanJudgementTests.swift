import Foundation
import NN
import TensorEngine
import TestSupport
import Settings
import XCTest
@testable import Attacks

/// The clean images are judged once: by the first gradient pass when it was at the clean
/// image (FGSM, BIM, MI-FGSM), by a forward pass otherwise (a random start, C&W), and either
/// way as a fresh prediction judges them.
final class CleanJudgementTests: XCTestCase {
    func testTheFirstGradientPassJudgesTheCleanImages() throws {
        let model = try tinyClassifier(seed: 5)
        let images = TestTensors.uniform([16, 1, 8, 8], 0, 1, seed: 6)
        let predicted = try model.predict(images).argmaxRows()
        let labels = predicted.enumerated().map { $0.offset % 3 == 0 ? ($0.element + 1) % 4 : $0.element }   // some clean mistakes
        let ensemble = Ensemble(model)
        for (method, seen) in [(AttackConfig.MethodName.fgsm, true), (.bim, true), (.mifgsm, true), (.pgd, false), (.cw, false)] {
            var c = AttackConfig(method: method)
            if method == .cw { c.steps = 3 } else { c.epsilon = 0.05 }
            let crafted = try Attack.craft(try c.resolved(), on: ensemble, images: images, labels: labels, monitor: AttackMonitor())
            if seen {
                XCTAssertEqual(crafted.batch.cleanPredicted.map { $0 ?? -1 }, predicted, "\(method): the gradient pass's own predictions")
            } else {
                XCTAssertTrue(crafted.batch.cleanPredicted.allSatisfy { $0 == nil }, "\(method) never saw the clean images")
            }
            let r = try Attack.run(c, on: ensemble, images: images, labels: labels)
            XCTAssertEqual(r.samples.map(\.cleanCorrect), zip(predicted, labels).map { $0 == $1 }, "\(method)")
        }
    }
}
