import TensorEngine
import TestSupport
import XCTest
@testable import NN

/// Running from a hidden layer onward, its backward, and gradients observed at hidden layers.
final class ModelTailTests: XCTestCase {
    let x = TestTensors.uniform([3, 1, 28, 28], 0, 1, seed: 41)

    /// The tail from a layer, fed that layer's own output, gives the whole model's logits.
    func testForwardFromALayerReproducesTheLogits() throws {
        let m = try Architectures.create("mnist-small", seed: 7)
        for name in ["1", "2", "4", "5", "6", "8", "logits"] {
            let full = try m.forward(x, Execution(), keep: [name])
            let tail = try m.forward(from: name, full.activations[name]!, Execution())
            XCTAssertLessThan(relativeError(tail.logits, full.logits), 1e-5, name)
        }
        XCTAssertThrowsError(try m.forward(from: "4", Tensor(shape: [1, 5]), Execution()))
        XCTAssertThrowsError(try m.forward(from: "nope", Tensor(shape: [1, 5]), Execution()))
    }

    /// The gradient at a hidden layer: the tail's backward, the whole model's backward with the
    /// layer observed, and finite differences of the tail agree; observing does not change the
    /// input gradient (the fused convolution block falls back to layer by layer). Finite
    /// differences skip "4": its zeros tie in the max pooling after it, where the tail is not
    /// differentiable.
    func testGradientAtAHiddenLayerThreeWays() throws {
        let m = try Architectures.create("mnist-small", seed: 8)
        let run = Execution()
        let out = try m.forward(x, run, keep: ["4", "5", "8"], record: true)
        let w = TestTensors.uniform(out.logits.shape, seed: 42)
        let plain = try m.backward(out.trace!, seeds: ["logits": w], input: true, parameters: false, run)
        let observed = try m.backward(out.trace!, seeds: ["logits": w], input: true, parameters: false, observe: ["4", "5", "8", "3"], run)
        XCTAssertLessThan(relativeError(observed.input!, plain.input!), 1e-5)
        XCTAssertEqual(Set(observed.layers.keys), ["3", "4", "5", "8"])
        for name in ["4", "5", "8"] {
            let a = out.activations[name]!
            let tail = try m.forward(from: name, a, run, record: true)
            let g = try m.backwardToLayer(name, tail.trace!, seed: w, run)
            XCTAssertLessThan(relativeError(g, observed.layers[name]!), 1e-5, name)
            if name == "4" { continue }
            let report = try GradientCheck(epsilon: 1e-3, relativeTolerance: 2e-2, absoluteTolerance: 2e-3).check(at: a, analytic: g) { v in
                Double(try m.forward(from: name, v, Execution()).logits.dot(w))
            }
            XCTAssertTrue(report.passed, "\(name): \(report)")
        }
    }
}
