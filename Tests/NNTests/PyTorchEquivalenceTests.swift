import Foundation
import SafeTensors
import TensorEngine
import TestSupport
import XCTest
@testable import NN

/// AdvLens against PyTorch on exported weights (fixtures made by scripts/make_fixtures.py):
/// logits within 1e-4 and gradients within 1e-3, relative to each tensor's scale.
final class PyTorchEquivalenceTests: XCTestCase {
    func load(_ dir: String) throws -> (Model, SafeTensorsFile) {
        let model = try Model.load(specAt: RepositoryPaths.nnFixture("\(dir)/model.json"),
                                   weightsAt: RepositoryPaths.nnFixture("\(dir)/model.safetensors"))
        let cases = try SafeTensorsFile.read(contentsOf: RepositoryPaths.nnFixture("\(dir)/cases.safetensors"))
        return (model, cases)
    }

    func gradients(_ model: Model, _ x: Tensor, _ labels: [Int], mode: Mode, reduction: Reduction,
                   input: Bool, parameters: Bool) throws -> (Tensor, Model.Gradients) {
        let run = Execution(mode: mode)
        let out = try model.forward(x, run, record: true)
        let loss = Loss.crossEntropy(logits: out.logits, labels: labels, reduction: reduction)
        let g = try model.backward(out.trace!, seeds: ["logits": loss.gradient], input: input, parameters: parameters, run)
        return (out.logits, g)
    }

    func testEvalModeLogitsAndGradientsMatchPyTorch() throws {
        let (model, cases) = try load("equivalence")
        let x = try cases.tensor("input"), labels = try cases.labels("labels")
        let (logits, sumGrads) = try gradients(model, x, labels, mode: .eval, reduction: .sum, input: true, parameters: false)
        XCTAssertLessThan(relativeError(logits, try cases.tensor("logits")), 1e-4)
        XCTAssertLessThan(relativeError(sumGrads.input!, try cases.tensor("input_grad")), 1e-3)
        XCTAssertTrue(sumGrads.parameters.values.allSatisfy { $0 == nil }, "an input-gradient pass computes no weight gradients")

        let (_, meanGrads) = try gradients(model, x, labels, mode: .eval, reduction: .mean, input: false, parameters: true)
        XCTAssertNil(meanGrads.input)
        for p in model.parameters {
            let want = try cases.tensor("param_grad." + p.name)
            XCTAssertLessThan(relativeError(meanGrads.parameters[p]!, want), 1e-3, p.name)
        }
    }

    func testTrainModeBatchStatisticsGradientsAndRunningStatsMatchPyTorch() throws {
        let (model, cases) = try load("equivalence")
        let x = try cases.tensor("input"), labels = try cases.labels("labels")
        // Dropout is the identity in the fixture's train pass; p = 0.5 here would drop, so
        // compare through a spec with dropout p = 0 (every other layer trains as in PyTorch).
        var spec = model.spec
        spec.layers = spec.layers.map { l in var l = l; if l.type == "dropout" { l.p = 0 }; return l }
        let trainModel = try Model.load(spec: spec, weights: SafeTensorsFile.decode(model.weightsFile()))
        let (logits, g) = try gradients(trainModel, x, labels, mode: .train, reduction: .sum, input: true, parameters: false)
        XCTAssertLessThan(relativeError(logits, try cases.tensor("train_logits")), 1e-4)
        XCTAssertLessThan(relativeError(g.input!, try cases.tensor("train_input_grad")), 1e-3)
        for bn in ["1", "4.body.1", "4.body.4", "6.body.1"] {
            XCTAssertLessThan(relativeError(trainModel.parameter(named: bn + ".running_mean")!.value,
                                            try cases.tensor("train_running_mean." + bn)), 1e-4, bn)
            XCTAssertLessThan(relativeError(trainModel.parameter(named: bn + ".running_var")!.value,
                                            try cases.tensor("train_running_var." + bn)), 1e-4, bn)
            XCTAssertEqual(trainModel.parameter(named: bn + ".num_batches_tracked")!.value.data, [6])
        }

        let fresh = try Model.load(spec: spec, weights: SafeTensorsFile.decode(model.weightsFile()))
        let (_, pg) = try gradients(fresh, x, labels, mode: .train, reduction: .mean, input: false, parameters: true)
        for p in fresh.parameters {
            let want = try cases.tensor("train_param_grad." + p.name)
            // Conv biases before batchnorm have a true gradient of 0 (PyTorch's is float noise).
            let error = zip(pg.parameters[p]!.data, want.data).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
            XCTAssertLessThan(error, 1e-3 * max(want.maxAbs(), 1e-3), p.name)
        }
    }

    func testMnistSmallMatchesPyTorch() throws {
        let (model, cases) = try load("mnist-small")
        XCTAssertEqual(model.spec.layers, Architectures.spec("mnist-small")!.layers, "the exported spec is the built-in architecture")
        let x = try cases.tensor("input"), labels = try cases.labels("labels")
        let (logits, g) = try gradients(model, x, labels, mode: .eval, reduction: .sum, input: true, parameters: false)
        XCTAssertLessThan(relativeError(logits, try cases.tensor("logits")), 1e-4)
        XCTAssertLessThan(relativeError(g.input!, try cases.tensor("input_grad")), 1e-3)
    }

    func testLossesMatchPyTorch() throws {
        let f = try SafeTensorsFile.read(contentsOf: RepositoryPaths.nnFixture("losses.safetensors"))
        let z = try f.tensor("logits"), y = try f.labels("labels"), t = try f.labels("targets")
        let ce = Loss.crossEntropy(logits: z, labels: y, reduction: .mean)
        XCTAssertEqual(ce.value, try f.tensor("ce_mean").data[0], accuracy: 1e-5)
        XCTAssertLessThan(relativeError(Tensor(shape: [6], data: ce.perSample), try f.tensor("ce_per_sample")), 1e-5)
        XCTAssertLessThan(relativeError(ce.gradient, try f.tensor("ce_grad_mean")), 1e-5)

        let (kl, _) = Loss.klDivergence(target: try f.tensor("kl_clean_logits"), input: try f.tensor("kl_adv_logits"), reduction: .mean)
        XCTAssertEqual(kl.value, try f.tensor("kl_batchmean").data[0], accuracy: 1e-5)
        XCTAssertLessThan(relativeError(kl.gradient, try f.tensor("kl_grad_adv")), 1e-4)

        let cwu = Loss.cwMargin(logits: z, labels: y, targeted: false, kappa: 0.5)
        XCTAssertLessThan(relativeError(Tensor(shape: [6], data: cwu.perSample), try f.tensor("cw_untargeted")), 1e-6)
        XCTAssertEqual(cwu.gradient, try f.tensor("cw_untargeted_grad"))
        let cwt = Loss.cwMargin(logits: z, labels: t, targeted: true, kappa: 0.5)
        XCTAssertLessThan(relativeError(Tensor(shape: [6], data: cwt.perSample), try f.tensor("cw_targeted")), 1e-6)
        XCTAssertEqual(cwt.gradient, try f.tensor("cw_targeted_grad"))
    }
}
