import NN
import Settings
import TensorEngine
import TestSupport
import XCTest
@testable import Interpret

/// Explanations checked against what they claim to measure, on the trained mnist-small.
final class ExplainCorrectnessTests: XCTestCase {
    /// Integrated gradients is complete: its attributions add up to logit(x) - logit(baseline),
    /// within 1% at 200 steps, for every integration rule and for a non-zero baseline.
    func testIntegratedGradientsCompleteness() throws {
        let model = try ExplainFixtures.model()
        let e = Explainer(model: model)
        for c in try ExplainFixtures.captumCases() {
            for rule in [IntegrationRule.gaussLegendre, .riemannTrapezoid] {
                for baseline in [Tensor(shape: [1, 1, 28, 28]), Tensor(shape: [1, 1, 28, 28], repeating: 0.3)] {
                    let (map, delta) = try e.integratedGradients(c.image, class: c.target, baseline: baseline, steps: 200, rule: rule)
                    let ends = try model.predict(Tensor.concatenate([c.image, baseline]))
                    let gap = ends.data[c.target] - ends.data[10 + c.target]
                    XCTAssertGreaterThan(abs(gap), 0.5, "a meaningful logit gap")
                    XCTAssertLessThan(abs(map.sum() - gap), 0.01 * abs(gap), "\(rule) baseline \(baseline.data[0]) class \(c.target)")
                    XCTAssertEqual(delta, map.sum() - gap, accuracy: 1e-3 * abs(gap))
                }
            }
        }
    }

    /// Zeroing a unit's activation inside the batched ablation changes the class logit and
    /// probability exactly as running the whole model with that unit's weights and bias zeroed
    /// (a ReLU unit with zero input outputs zero), for every channel of layer 4 and every unit
    /// of layer 8.
    func testAblationEqualsTheModelWithTheUnitsWeightsZeroed() throws {
        let model = try ExplainFixtures.model()
        let e = Explainer(model: model)
        let c = try ExplainFixtures.captumCases()[2]
        let pass = try e.gradientPass(c.image, class: c.target, layers: ["4", "8"], inputGradient: false)
        let base = pass.logits.data[c.target], baseP = pass.probabilities[c.target]
        for (layer, producer) in [("4", "3"), ("8", "7")] {
            let influence = try e.influence(of: layer, pass: pass, class: c.target, ablation: true, gradientTimesActivation: false)
            let weight = model.parameter(named: "\(producer).weight")!, bias = model.parameter(named: "\(producer).bias")!
            let (w0, b0) = (weight.value, bias.value)
            let rows = weight.value.shape[0], per = weight.value.count / rows
            var nonZero = 0
            for u in 0..<rows {
                for i in (u * per)..<((u + 1) * per) { weight.value.data[i] = 0 }
                bias.value.data[u] = 0
                let logits = try model.predict(c.image)
                weight.value = w0
                bias.value = b0
                let drop = base - logits.data[c.target], dropP = baseP - logits.softmaxRows().data[c.target]
                XCTAssertEqual(influence.logitDrop![u], drop, accuracy: 1e-4 * max(1, abs(drop)), "layer \(layer) unit \(u)")
                XCTAssertEqual(influence.probabilityDrop![u], dropP, accuracy: 1e-5, "layer \(layer) unit \(u)")
                if drop != 0 { nonZero += 1 }
            }
            XCTAssertGreaterThan(nonZero, rows / 8, "layer \(layer): ablation must matter for some units")
        }
    }

    /// At the inputs of the last linear layer, gradient x activation is exactly each unit's
    /// contribution w_c[j] · a_j to the logit, and the contributions plus the bias are the logit.
    func testGradientTimesActivationIsTheExactContributionAtTheLastLinearLayer() throws {
        let model = try ExplainFixtures.model()
        let e = Explainer(model: model)
        XCTAssertEqual(e.penultimateDenseLayer, "8")
        XCTAssertEqual(e.lastConvolutionLayer, "4")
        for c in try ExplainFixtures.captumCases() {
            let pass = try e.gradientPass(c.image, class: c.target, layers: ["8"], inputGradient: false)
            let gxa = try e.influence(of: "8", pass: pass, class: c.target, ablation: false, gradientTimesActivation: true).gradientTimesActivation!
            let w = model.parameter(named: "9.weight")!.value, b = model.parameter(named: "9.bias")!.value
            let a = pass.activations["8"]!
            for j in 0..<128 {
                XCTAssertEqual(gxa[j], w.data[c.target * 128 + j] * a.data[j], accuracy: 1e-6)
            }
            XCTAssertEqual(gxa.reduce(0, +) + b.data[c.target], pass.logits.data[c.target], accuracy: 1e-4)
        }
    }

    /// Gauss-Legendre nodes and weights for 3 points: ±√(3/5), 0; 5/9, 8/9, 5/9 (on [-1, 1]).
    func testGaussLegendreNodes() {
        let (x, w) = IntegrationRule.legendreNodes(3)
        XCTAssertEqual(x[0], -(0.6).squareRoot(), accuracy: 1e-14)
        XCTAssertEqual(x[1], 0, accuracy: 1e-14)
        XCTAssertEqual(w[0], 5.0 / 9, accuracy: 1e-14)
        XCTAssertEqual(w[1], 8.0 / 9, accuracy: 1e-14)
        for n in [1, 2, 7, 50, 200] {
            let (a, v) = IntegrationRule.gaussLegendre.points(n)
            XCTAssertEqual(v.reduce(0, +), 1, accuracy: 1e-12)
            // Exact for polynomials of degree 2n - 1: ∫₀¹ α^k dα = 1/(k+1).
            let k = Double(min(2 * n - 1, 9))
            XCTAssertEqual(zip(a, v).reduce(0) { $0 + $1.1 * pow($1.0, k) }, 1 / (k + 1), accuracy: 1e-12)
        }
    }

    /// Saliency of a colour image: per pixel, the largest |gradient| over its channels.
    func testChannelMaxTakesTheLargestChannelPerPixel() {
        let map = Tensor(shape: [3, 1, 2], data: [0.1, 0.9, 0.5, 0.2, 0.3, 0.4])
        XCTAssertEqual(Explainer.channelMax(map), Tensor(shape: [1, 1, 2], data: [0.5, 0.9]))
        XCTAssertEqual(Explainer.saliency(inputGradient: Tensor(shape: [1, 1, 1, 2], data: [-2, 3])), Tensor(shape: [1, 1, 2], data: [2, 3]))
    }

    /// Bad requests name the parameter.
    func testErrorsNameTheField() throws {
        let e = Explainer(model: try ExplainFixtures.model())
        let x = Tensor(shape: [1, 1, 28, 28])
        XCTAssertThrowsError(try e.gradientPass(x, class: 10, layers: [], inputGradient: true)) { XCTAssertEqual(($0 as! ExplainError).field, "class") }
        XCTAssertThrowsError(try e.checkUnitLayer("nope"))
        XCTAssertEqual(try e.checkUnitLayer("2"), "2")
        XCTAssertThrowsError(try e.integratedGradients(x, class: 0, baseline: x, steps: 0, rule: .gaussLegendre)) {
            XCTAssertEqual(($0 as! ExplainError).field, "steps")
        }
        XCTAssertThrowsError(try e.occlusion(x, class: 0, baseline: x, window: (29, 2), stride: (1, 1))) {
            XCTAssertEqual(($0 as! ExplainError).field, "window")
        }
    }
}
