import NN
import TensorEngine
import TestSupport
import XCTest
@testable import Training

/// Every objective's parameter gradients against finite differences of its loss, with x*
/// held fixed (the adversary is not differentiated, as in every reference implementation).
final class ObjectiveGradientTests: XCTestCase {
    let x = TestTensors.uniform([4, 1, 28, 28], 0, 1, seed: 41)
    let labels = [3, 7, 1, 0]

    /// x* a fixed perturbation of x (what an adversary returned, frozen).
    var adversarial: Tensor {
        var a = x + TestTensors.uniform(x.shape, -0.2, 0.2, seed: 42)
        a.clamp(0, 1)
        return a
    }

    func check(_ objective: TrainingObjective, parameters names: [String] = ["0.weight", "7.weight", "9.bias"],
               file: StaticString = #filePath, line: UInt = #line) throws {
        let model = try Architectures.create("mnist-small", seed: 11)
        let xAdv = adversarial
        let outcome = try objective.evaluate(model, clean: x, adversarial: xAdv, labels: labels, Execution(mode: .train))
        XCTAssertTrue(outcome.total.isFinite)
        for name in names {
            let p = model.parameter(named: name)!
            let saved = p.value
            let analytic = try XCTUnwrap(outcome.gradients[p], name, file: file, line: line)
            let report = try GradientCheck(epsilon: 2e-3, relativeTolerance: 3e-2, absoluteTolerance: 2e-3, maxEntries: 16)
                .check(at: saved, analytic: analytic) { v in
                    p.value = v
                    defer { p.value = saved }
                    return Double(try objective.evaluate(model, clean: x, adversarial: xAdv, labels: labels, Execution(mode: .train)).total)
                }
            XCTAssertTrue(report.passed, "\(objective.name) \(name): \(report)", file: file, line: line)
        }
    }

    func testStandard() throws { try check(.standard) }

    func testMadryPGD() throws { try check(.pgd(try Adversary(method: .pgd, steps: 7))) }

    func testTRADES() throws { try check(.trades(beta: 6, adversary: try Adversary(method: .kl))) }

    func testConsistentAtThePenultimateLayerSummed() throws {
        try check(.consistent(lambda: 0.05, layers: ["8"], featureReduction: .sum, adversary: try Adversary(method: .fgsm)))
    }

    func testConsistentAtSeveralLayersAveragedAndOnTheLogits() throws {
        try check(.consistent(lambda: 2, layers: ["5", "8", "logits"], featureReduction: .mean, adversary: try Adversary(method: .llc)))
    }

    /// The parts add up to the total with the documented weights, and the feature distance is
    /// the hand-computed mean over the batch of the summed squared differences.
    func testLossPartsAreTheDocumentedQuantities() throws {
        let model = try Architectures.create("mnist-small", seed: 11)
        let xAdv = adversarial
        let run = Execution(mode: .train)
        let out = try model.forward(x, run, keep: ["8"])
        let outAdv = try model.forward(xAdv, run, keep: ["8"])
        let a = out.activations["8"]!, b = outAdv.activations["8"]!
        var sum: Float = 0
        for i in 0..<a.count { sum += (a.data[i] - b.data[i]) * (a.data[i] - b.data[i]) }
        let expected = sum / 4
        let summed = try TrainingObjective.consistent(lambda: 0.5, layers: ["8"], featureReduction: .sum, adversary: try Adversary(method: .fgsm))
            .evaluate(model, clean: x, adversarial: xAdv, labels: labels, run)
        XCTAssertEqual(summed.parts["featureDistance"]!, expected, accuracy: expected * 1e-5)
        XCTAssertEqual(summed.total, summed.parts["cleanCrossEntropy"]! + summed.parts["adversarialCrossEntropy"]! + 0.5 * expected,
                       accuracy: 1e-4)
        let averaged = try TrainingObjective.consistent(lambda: 0.5, layers: ["8"], featureReduction: .mean, adversary: try Adversary(method: .fgsm))
            .evaluate(model, clean: x, adversarial: xAdv, labels: labels, run)
        XCTAssertEqual(averaged.parts["featureDistance"]!, expected / 128, accuracy: expected * 1e-5)
        let ce = Loss.crossEntropy(logits: out.logits, labels: labels).value
        let (kl, _) = Loss.klDivergence(target: out.logits, input: outAdv.logits)
        let trades = try TrainingObjective.trades(beta: 6, adversary: try Adversary(method: .kl))
            .evaluate(model, clean: x, adversarial: xAdv, labels: labels, run)
        XCTAssertEqual(trades.parts["kl"]!, kl.value, accuracy: 1e-6)
        XCTAssertEqual(trades.total, ce + 6 * kl.value, accuracy: 1e-5)
    }
}

/// With dropout in train mode, the clean and adversarial passes share their masks: for
/// x* = x the feature distance is exactly zero and the two cross-entropies are equal.
final class PairedDropoutTests: XCTestCase {
    func testCleanAndAdversarialPassesShareTheDropoutMasks() throws {
        let spec = ModelSpec(name: "dropout-net", input: InputSpec(shape: [1, 28, 28], range: [0, 1], mean: [0], std: [1]), classes: [],
                             layers: [LayerSpec(name: "0", type: "flatten"), .linear("1", 784, 64), LayerSpec(name: "2", type: "relu"),
                                      { var d = LayerSpec(name: "3", type: "dropout"); d.p = 0.5; return d }(), .linear("4", 64, 10)])
        let model = try Model(spec: spec)
        model.initialize(seed: 3)
        let x = TestTensors.uniform([8, 1, 28, 28], 0, 1, seed: 5)
        let labels = (0..<8).map { $0 % 10 }
        let run = Execution(mode: .train, seed: 9)
        let out = try TrainingObjective.consistent(lambda: 1, layers: ["3"], featureReduction: .sum, adversary: try Adversary(method: .fgsm))
            .evaluate(model, clean: x, adversarial: x, labels: labels, run)
        XCTAssertEqual(out.parts["featureDistance"], 0)
        XCTAssertEqual(out.parts["cleanCrossEntropy"], out.parts["adversarialCrossEntropy"])
        // Dropout is active: another stream gives other masks, hence another loss.
        let other = try TrainingObjective.standard.evaluate(model, clean: x, adversarial: nil, labels: labels, Execution(mode: .train, seed: 10))
        XCTAssertNotEqual(other.parts["cleanCrossEntropy"], out.parts["cleanCrossEntropy"])
    }
}
