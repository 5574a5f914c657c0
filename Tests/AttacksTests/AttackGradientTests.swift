import Foundation
import NN
import TensorEngine
import TestSupport
import XCTest
@testable import Attacks

/// Every attack loss's input gradient against finite differences, on a two-model ensemble
/// (so the ensemble combination is checked too).
final class AttackGradientTests: XCTestCase {
    func smallModel(seed: UInt64) throws -> Model {
        let spec = ModelSpec(name: "tiny", input: InputSpec(shape: [1, 8, 8], range: [0, 1]), classes: (0..<5).map(String.init), layers: [
            .conv2d("0", 1, 4, kernel: 3, padding: 1), LayerSpec(name: "1", type: "relu"), .pool("avgpool2d", "2", kernel: 2),
            LayerSpec(name: "3", type: "flatten"), .linear("4", 64, 5),
        ])
        let m = try Model(spec: spec)
        m.initialize(seed: seed)
        return m
    }

    func ensemble() throws -> Ensemble { try Ensemble([(smallModel(seed: 1), 2), (smallModel(seed: 2), 1)]) }

    let x = TestTensors.uniform([3, 1, 8, 8], 0.2, 0.8, seed: 5)
    let classes = [0, 3, 4]
    let check = GradientCheck(epsilon: 1e-3, relativeTolerance: 2e-2, absoluteTolerance: 1e-3)

    /// Σ aᵢ CE(zᵢ, y): what FGSM, BIM, PGD and MI-FGSM ascend.
    func testEnsembleCrossEntropy() throws {
        let e = try ensemble()
        let runs = e.executions()
        let (g, _) = try e.inputGradient(x, runs, chunk: 2) { range, all in
            all.enumerated().map { AttackLoss.crossEntropySeed($1, Array(self.classes[range]), weight: e.weights[$0]) }
        }
        let report = try check.check(at: x, analytic: g) { v in
            let z = try e.logits(v, e.executions())
            return zip(z, e.weights).reduce(0.0) { $0 + Double($1.1 * Loss.crossEntropy(logits: $1.0, labels: self.classes, reduction: .sum).value) }
        }
        XCTAssertTrue(report.passed, "\(report)")
    }

    /// -log Σ aᵢ pᵢ(t): the ensemble-optimization attack's term (its λ‖x* - x‖² part is added
    /// in closed form).
    func testEnsembleTargetProbability() throws {
        let e = try ensemble()
        let (g, _) = try e.inputGradient(x, e.executions()) { range, all in
            AttackLoss.ensembleTargetSeeds(all, weights: e.weights, targets: Array(self.classes[range])).seeds
        }
        let report = try check.check(at: x, analytic: g) { v in
            let z = try e.logits(v, e.executions())
            return Double(AttackLoss.ensembleTargetSeeds(z, weights: e.weights, targets: self.classes).loss.reduce(0, +))
        }
        XCTAssertTrue(report.passed, "\(report)")
    }

    /// The C&W margin on averaged logits, away from its hinge (κ large keeps it linear).
    func testCarliniWagnerMarginOnAveragedLogits() throws {
        let e = try ensemble()
        for targeted in [false, true] {
            let (g, _) = try e.inputGradient(x, e.executions()) { range, all in
                let grad = Loss.cwMargin(logits: e.averagedLogits(all), labels: Array(self.classes[range]), targeted: targeted, kappa: 100, reduction: .sum).gradient
                return e.weights.map { grad * $0 }
            }
            let report = try check.check(at: x, analytic: g) { v in
                let z = e.averagedLogits(try e.logits(v, e.executions()))
                return Double(Loss.cwMargin(logits: z, labels: self.classes, targeted: targeted, kappa: 100, reduction: .sum).value)
            }
            XCTAssertTrue(report.passed, "targeted \(targeted): \(report)")
        }
    }

    /// dZₖ/dx for every class, as DeepFool linearises.
    func testClassGradients() throws {
        let e = try ensemble()
        let (_, grads) = try e.classGradients(x, e.executions())
        for k in [0, 2, 4] {
            let report = try check.check(at: x, analytic: grads[k]) { v in
                let z = e.averagedLogits(try e.logits(v, e.executions()))
                return (0..<3).reduce(0.0) { $0 + Double(z.data[$1 * 5 + k]) }
            }
            XCTAssertTrue(report.passed, "class \(k): \(report)")
        }
    }

    func testEnsembleWeightsAreNormalisedAndMembersChecked() throws {
        let e = try ensemble()
        XCTAssertEqual(e.weights[0], 2.0 / 3.0, accuracy: 1e-6)
        let other = try Architectures.create("mnist-small", seed: 1)
        XCTAssertThrowsError(try Ensemble([(smallModel(seed: 1), 1), (other, 1)])) {
            XCTAssertEqual(($0 as? AttackError)?.field, "models[1]")
        }
        XCTAssertThrowsError(try Ensemble([(smallModel(seed: 1), 0)]))
    }
}
