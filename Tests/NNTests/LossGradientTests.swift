import TensorEngine
import TestSupport
import XCTest
@testable import NN

/// Each loss's gradient against finite differences, and its values at the non-smooth points.
final class LossGradientTests: XCTestCase {
    let z = TestTensors.uniform([5, 7], -3, 3, seed: 21)
    let labels = [0, 3, 6, 2, 2]

    func testCrossEntropyBothReductions() {
        for r in [Reduction.mean, .sum] {
            let l = Loss.crossEntropy(logits: z, labels: labels, reduction: r)
            let report = GradientCheck().check(at: z, analytic: l.gradient) {
                Double(Loss.crossEntropy(logits: $0, labels: labels, reduction: r).value)
            }
            XCTAssertTrue(report.passed, "\(r): \(report)")
        }
    }

    func testCrossEntropyIsStableForHugeLogits() {
        let big = Tensor(shape: [1, 3], data: [1000, -1000, 0])
        let l = Loss.crossEntropy(logits: big, labels: [1])
        XCTAssertEqual(l.value, 2000, accuracy: 1e-2)
        XCTAssertTrue(l.gradient.isFinite)
    }

    func testCWMarginAwayFromKinks() {
        for targeted in [false, true] {
            let l = Loss.cwMargin(logits: z, labels: labels, targeted: targeted, kappa: 10)
            let report = GradientCheck().check(at: z, analytic: l.gradient) {
                Double(Loss.cwMargin(logits: $0, labels: labels, targeted: targeted, kappa: 10).value)
            }
            XCTAssertTrue(report.passed, "targeted \(targeted): \(report)")
        }
    }

    /// At the clamp (margin exactly -κ) the gradient is 0; on ties the first other index counts.
    func testCWMarginAtItsKinks() {
        let atClamp = Tensor(shape: [1, 3], data: [1, 2, 0])   // untargeted y=0: margin 1-2 = -1 = -κ
        let l = Loss.cwMargin(logits: atClamp, labels: [0], targeted: false, kappa: 1)
        XCTAssertEqual(l.value, -1)
        XCTAssertEqual(l.gradient.data, [0, 0, 0])
        let tie = Tensor(shape: [1, 3], data: [0, 2, 2])       // targeted t=0: others tie at 2
        let t = Loss.cwMargin(logits: tie, labels: [0], targeted: true, kappa: 0)
        XCTAssertEqual(t.value, 2)
        XCTAssertEqual(t.gradient.data, [-1, 1, 0])
    }

    func testSquaredDistanceBothArguments() {
        let a = TestTensors.uniform([3, 2, 2, 2], seed: 22), b = TestTensors.uniform([3, 2, 2, 2], seed: 23)
        let l = Loss.squaredDistance(a, b, reduction: .mean)
        XCTAssertTrue(GradientCheck().check(at: a, analytic: l.gradient) { Double(Loss.squaredDistance($0, b).value) }.passed)
        var minus = l.gradient
        minus.scale(-1)
        XCTAssertTrue(GradientCheck().check(at: b, analytic: minus) { Double(Loss.squaredDistance(a, $0).value) }.passed)
        XCTAssertEqual(Loss.squaredDistance(a, a).value, 0)
    }

    func testKLDivergenceBothArguments() {
        let clean = TestTensors.uniform([4, 6], -2, 2, seed: 24), adv = TestTensors.uniform([4, 6], -2, 2, seed: 25)
        let (l, gTarget) = Loss.klDivergence(target: clean, input: adv)
        XCTAssertTrue(GradientCheck().check(at: adv, analytic: l.gradient) { Double(Loss.klDivergence(target: clean, input: $0).0.value) }.passed)
        XCTAssertTrue(GradientCheck().check(at: clean, analytic: gTarget) { Double(Loss.klDivergence(target: $0, input: adv).0.value) }.passed)
        XCTAssertEqual(Loss.klDivergence(target: clean, input: clean).0.value, 0, accuracy: 1e-6)
    }

    /// ReLU at exactly 0 passes no gradient (PyTorch's convention); max pooling routes a tied
    /// window's gradient to the first maximum only.
    func testReLUAndMaxPoolAtNonSmoothPoints() throws {
        let spec = ModelSpec(name: "k", input: InputSpec(shape: [1, 2, 2], range: [-1, 1]), classes: [], layers: [
            LayerSpec(name: "r", type: "relu"), .pool("maxpool2d", "p", kernel: 2), LayerSpec(name: "f", type: "flatten")])
        let m = try Model(spec: spec)
        let run = Execution()
        let x = Tensor(shape: [2, 1, 2, 2], data: [0, 0, -1, -1, /* second: tie */ 0.5, 0.5, 0.2, 0.5])
        let out = try m.forward(x, run, record: true)
        XCTAssertEqual(out.logits.data, [0, 0.5])
        let g = try m.backward(out.trace!, seeds: ["logits": Tensor(shape: [2, 1], data: [1, 1])], input: true, parameters: false, run)
        XCTAssertEqual(g.input!.data, [0, 0, 0, 0, 1, 0, 0, 0])
    }
}
