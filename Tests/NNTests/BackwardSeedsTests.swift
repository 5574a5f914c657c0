import TensorEngine
import TestSupport
import XCTest
@testable import NN

/// Backward from seeds placed at several layers at once, and passes that compute only what
/// is asked for.
final class BackwardSeedsTests: XCTestCase {
    func makeModel() throws -> Model {
        let m = try Architectures.create("mnist-small", seed: 5)
        return m
    }

    /// A loss on the logits plus a loss on the penultimate features: one backward with two
    /// seeds equals the sum of two single-seed passes, and finite differences of the combined
    /// objective.
    func testTwoSeedsEqualTheSumOfTwoPassesAndFiniteDifferences() throws {
        let m = try makeModel()
        let x = TestTensors.uniform([3, 1, 28, 28], 0, 1, seed: 31)
        let run = Execution()
        let out = try m.forward(x, run, keep: ["8"], record: true)
        let wLogits = TestTensors.uniform(out.logits.shape, seed: 32)
        let wFeatures = TestTensors.uniform(out.activations["8"]!.shape, seed: 33)
        let both = try m.backward(out.trace!, seeds: ["logits": wLogits, "8": wFeatures], input: true, parameters: true, run)
        let a = try m.backward(out.trace!, seeds: ["logits": wLogits], input: true, parameters: true, run)
        let b = try m.backward(out.trace!, seeds: ["8": wFeatures], input: true, parameters: true, run)
        XCTAssertLessThan(relativeError(both.input!, a.input! + b.input!), 1e-5)
        for p in m.parameters {
            if let gb = b.parameters[p] {
                XCTAssertLessThan(relativeError(both.parameters[p]!, a.parameters[p]! + gb), 1e-5, p.name)
            } else {
                XCTAssertEqual(p.name.hasPrefix("9."), true, "only the last layer lies beyond the feature seed")
                XCTAssertLessThan(relativeError(both.parameters[p]!, a.parameters[p]!), 1e-6, p.name)
            }
        }
        let report = try GradientCheck(epsilon: 2e-3, relativeTolerance: 2e-2, absoluteTolerance: 2e-3).check(at: x, analytic: both.input!) { v in
            let o = try m.forward(v, Execution(), keep: ["8"])
            return Double(o.logits.dot(wLogits) + o.activations["8"]!.dot(wFeatures))
        }
        XCTAssertTrue(report.passed, "\(report)")
    }

    /// A seed inside a residual block, with nothing seeded above it, starts the flow there: the
    /// input gradient matches finite differences of that layer's weighted output, and the same
    /// seed beside a zero seed on the logits (which makes gradient flow into the block from
    /// above) gives the same gradients.
    func testASeedInsideAResidualBlockStartsTheFlow() throws {
        let m = try Architectures.create("shapes-cnn", seed: 6)
        let inner = "res3.body.conv2"
        XCTAssertNotNil(m.layer(named: inner))
        let x = TestTensors.uniform([2, 3, 64, 64], 0, 1, seed: 37)
        let run = Execution(mode: .eval)
        let out = try m.forward(x, run, keep: [inner], record: true)
        let w = TestTensors.uniform(out.activations[inner]!.shape, seed: 36)
        let alone = try m.backward(out.trace!, seeds: [inner: w], input: true, parameters: true, run)
        let withZero = try m.backward(out.trace!, seeds: [inner: w, "logits": Tensor(shape: out.logits.shape)], input: true,
                                      parameters: true, run)
        XCTAssertGreaterThan(alone.input!.data.map(abs).max() ?? 0, 0, "the seed reached the input")
        XCTAssertLessThan(relativeError(alone.input!, withZero.input!), 1e-6)
        let conv1 = m.parameters.first { $0.name == "res3.body.conv1.weight" }!
        XCTAssertLessThan(relativeError(alone.parameters[conv1]!, withZero.parameters[conv1]!), 1e-6)
        // Finite differences through four max-poolings and ReLUs: an input whose sampled
        // entries sit on no kink (seed 35 puts one on a pooling switch) is chosen.
        let report = try GradientCheck(epsilon: 5e-4, relativeTolerance: 3e-2, absoluteTolerance: 3e-3, maxEntries: 24)
            .check(at: x, analytic: alone.input!) { v in
                Double(try m.forward(v, Execution(mode: .eval), keep: [inner]).activations[inner]!.dot(w))
            }
        XCTAssertTrue(report.passed, "\(report)")
    }

    func testInputOnlyAndParametersOnlyPasses() throws {
        let m = try makeModel()
        let x = TestTensors.uniform([2, 1, 28, 28], 0, 1, seed: 34)
        let run = Execution()
        let out = try m.forward(x, run, record: true)
        let seed = ["logits": Loss.crossEntropy(logits: out.logits, labels: [1, 2]).gradient]
        let full = try m.backward(out.trace!, seeds: seed, input: true, parameters: true, run)
        let inputOnly = try m.backward(out.trace!, seeds: seed, input: true, parameters: false, run)
        let paramsOnly = try m.backward(out.trace!, seeds: seed, input: false, parameters: true, run)
        // Equal to float32 rounding: without weight gradients, a convolution block ending in a
        // 2×2 max pooling sums its input gradient from the pooled gradient instead of the
        // dense product (Conv2d+PooledInputGradient.swift).
        XCTAssertLessThan(relativeError(inputOnly.input!, full.input!), 1e-5)
        XCTAssertTrue(inputOnly.parameters.values.allSatisfy { $0 == nil })
        XCTAssertNil(paramsOnly.input)
        for p in m.parameters { XCTAssertEqual(paramsOnly.parameters[p], full.parameters[p], p.name) }
    }

    func testSeedErrorsNameTheLayer() throws {
        let m = try makeModel()
        let run = Execution()
        let out = try m.forward(TestTensors.uniform([1, 1, 28, 28], 0, 1, seed: 35), run, record: true)
        XCTAssertThrowsError(try m.backward(out.trace!, seeds: ["nope": Tensor(shape: [1, 10])], input: true, parameters: false, run)) {
            XCTAssertEqual($0 as? ModelError, .unknownLayer("nope"))
        }
        XCTAssertThrowsError(try m.backward(out.trace!, seeds: ["7": Tensor(shape: [1, 10])], input: true, parameters: false, run)) {
            XCTAssertTrue("\($0)".contains("layer 7"), "\($0)")
        }
    }

    func testKeptActivationsAreTheLayerOutputs() throws {
        let m = try makeModel()
        let x = TestTensors.uniform([2, 1, 28, 28], 0, 1, seed: 36)
        let out = try m.forward(x, Execution(), keep: ["2", "7", "logits"])
        XCTAssertEqual(out.activations["2"]?.shape, [2, 16, 12, 12])
        XCTAssertEqual(out.activations["7"]?.shape, [2, 128])
        XCTAssertEqual(out.activations["logits"], out.logits)
        XCTAssertThrowsError(try m.forward(x, Execution(), keep: ["missing"]))
        XCTAssertThrowsError(try m.forward(Tensor(shape: [1, 1, 27, 28]), Execution())) {
            XCTAssertEqual($0 as? ModelError, .inputShape(expected: [1, 28, 28], got: [1, 1, 27, 28]))
        }
    }
}
