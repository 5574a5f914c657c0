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

    func testInputOnlyAndParametersOnlyPasses() throws {
        let m = try makeModel()
        let x = TestTensors.uniform([2, 1, 28, 28], 0, 1, seed: 34)
        let run = Execution()
        let out = try m.forward(x, run, record: true)
        let seed = ["logits": Loss.crossEntropy(logits: out.logits, labels: [1, 2]).gradient]
        let full = try m.backward(out.trace!, seeds: seed, input: true, parameters: true, run)
        let inputOnly = try m.backward(out.trace!, seeds: seed, input: true, parameters: false, run)
        let paramsOnly = try m.backward(out.trace!, seeds: seed, input: false, parameters: true, run)
        XCTAssertEqual(inputOnly.input, full.input)
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
