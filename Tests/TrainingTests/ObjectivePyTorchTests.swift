import Foundation
import NN
import SafeTensors
import TensorEngine
import TestSupport
import XCTest
@testable import Training

/// TRADES and the consistent loss against PyTorch (scripts/make_training_fixtures.py) on the
/// equivalence model (batchnorm in train mode, residual blocks, input normalisation; dropout
/// off): the loss and its parts, every parameter gradient, and the batchnorm running
/// statistics after the objective's two train-mode passes.
final class ObjectivePyTorchTests: XCTestCase {
    func fixture() throws -> (Model, SafeTensorsFile) {
        var spec = try Model.decodeSpec(try Data(contentsOf: RepositoryPaths.nnFixture("equivalence/model.json")))
        for i in spec.layers.indices where spec.layers[i].type == "dropout" { spec.layers[i].p = 0 }   // dropout off, as the fixture
        let model = try Model.load(spec: spec, weights: try SafeTensorsFile.read(contentsOf: RepositoryPaths.nnFixture("equivalence/model.safetensors")))
        let cases = try SafeTensorsFile.read(contentsOf: RepositoryPaths.root.appendingPathComponent("Tests/TrainingTests/Fixtures/objectives.safetensors"))
        return (model, cases)
    }

    func scalar(_ f: SafeTensorsFile, _ key: String) throws -> Float { try f.tensor(key).data[0] }

    func assertGradients(_ model: Model, _ out: ObjectiveOutcome, _ cases: SafeTensorsFile, prefix: String) throws {
        for p in model.parameters {
            let want = try cases.tensor("\(prefix).grad.\(p.name)")
            let got = try XCTUnwrap(out.gradients[p], p.name)
            if want.maxAbs() < 1e-5 {
                // The bias of a convolution that a train-mode batchnorm follows: its gradient is
                // zero in exact arithmetic (the batch mean is subtracted), rounding noise in both.
                XCTAssertLessThan(got.maxAbs(), 1e-5, "\(prefix) \(p.name)")
            } else {
                XCTAssertLessThan(relativeError(got, want), 1e-3, "\(prefix) \(p.name)")
            }
        }
    }

    func testTRADESMatchesPyTorch() throws {
        let (model, cases) = try fixture()
        let out = try TrainingObjective.trades(beta: 6, adversary: try Adversary(method: .kl))
            .evaluate(model, clean: try cases.tensor("x"), adversarial: try cases.tensor("x_adv"), labels: try cases.labels("labels"),
                      Execution(mode: .train))
        XCTAssertEqual(out.total, try scalar(cases, "trades.loss"), accuracy: 1e-4)
        XCTAssertEqual(out.parts["cleanCrossEntropy"]!, try scalar(cases, "trades.ce"), accuracy: 1e-5)
        XCTAssertEqual(out.parts["kl"]!, try scalar(cases, "trades.kl"), accuracy: 1e-5)
        try assertGradients(model, out, cases, prefix: "trades")
        for b in model.buffers where b.name.contains("running") {
            XCTAssertLessThan(relativeError(b.value, try cases.tensor("trades.buffer." + b.name)), 1e-5, b.name)
        }
    }

    func testConsistentLossMatchesPyTorch() throws {
        let (model, cases) = try fixture()
        let out = try TrainingObjective.consistent(lambda: 0.5, layers: ["7", "11"], featureReduction: .sum, adversary: try Adversary(method: .fgsm))
            .evaluate(model, clean: try cases.tensor("x"), adversarial: try cases.tensor("x_adv"), labels: try cases.labels("labels"),
                      Execution(mode: .train))
        XCTAssertEqual(out.total, try scalar(cases, "consistent.loss"), accuracy: 1e-4)
        XCTAssertEqual(out.parts["featureDistance"]!, try scalar(cases, "consistent.distance"), accuracy: 1e-4)
        XCTAssertEqual(out.parts["cleanCrossEntropy"]!, try scalar(cases, "consistent.ce"), accuracy: 1e-5)
        XCTAssertEqual(out.parts["adversarialCrossEntropy"]!, try scalar(cases, "consistent.ce_adv"), accuracy: 1e-5)
        try assertGradients(model, out, cases, prefix: "consistent")
    }
}
