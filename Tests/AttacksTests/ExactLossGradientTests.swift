import Foundation
import NN
import TensorEngine
import TestSupport
import XCTest
@testable import Attacks

/// The attack objectives' gradients on confident images (p(label) ≥ 0.999), where float32's
/// `softmax - onehot` loses the true class's term (issue 17, item 6): checked against central
/// finite differences of a reference in 80-bit floats that shares no code with `AttackLoss`.
final class ExactLossGradientTests: XCTestCase {
    /// -log softmax(z)[c] the textbook way, but in 80-bit floats (64-bit mantissa): exact to
    /// about 1e-19 relative, so its central differences resolve 1 - p_c down to 1e-8 and below.
    static func referenceCE(_ z: [Float80], _ c: Int) -> Float80 {
        let m = z.max()!
        let sum = z.reduce(Float80(0)) { $0 + Foundation.exp($1 - m) }
        return -Foundation.log(Foundation.exp(z[c] - m) / sum)
    }

    /// DLR and targeted DLR straight from their definitions.
    static func referenceDLR(_ z: [Float80], _ y: Int, target: Int?) -> Float80 {
        let sorted = z.sorted(by: >)
        if let t = target { return -(z[y] - z[t]) / (sorted[0] - (sorted[2] + sorted[3]) / 2 + 1e-12) }
        let other = z.indices.filter { $0 != y }.map { z[$0] }.max()!
        return -(z[y] - other) / (sorted[0] - sorted[2] + 1e-12)
    }

    static func reference(_ o: AttackObjective, _ z: [Float80], _ y: Int, _ t: Int) -> Float80 {
        switch o {
        case .crossEntropy: return referenceCE(z, y)
        case .targetedCrossEntropy: return -referenceCE(z, t)
        case .dlr: return referenceDLR(z, y, target: nil)
        case .targetedDLR: return referenceDLR(z, y, target: t)
        case .cwMargin(let targeted):
            let c = targeted ? t : y
            let other = z.indices.filter { $0 != c }.map { z[$0] }.max()!
            return targeted ? z[c] - other : other - z[c]
        }
    }

    static let objectives: [AttackObjective] = [.crossEntropy, .targetedCrossEntropy, .dlr, .targetedDLR,
                                                .cwMargin(targeted: false), .cwMargin(targeted: true)]

    /// Logit rows whose label has p ≥ 0.999: margins 8 to 18 (1 - p from 3e-4 down to 1e-7,
    /// where float32 rounds p_y to 1).
    let rows: [[Double]] = [
        [9.0, 0.5, -1.0, 0.2, 0.9, -2.0],
        [-0.3, 14.0, 1.1, 0.7, -0.6, 0.0],
        [0.4, -0.2, 18.5, 0.3, 0.1, -1.5],
        [2.0, 1.0, 0.5, 0.0, 15.0, 1.5],
    ]
    let labels = [0, 1, 2, 4]
    let targets = [3, 5, 0, 2]

    func testObjectivesMatchFloat64FiniteDifferencesOnSaturatedLogits() {
        var g = [Double](repeating: 0, count: 6)
        for o in Self.objectives {
            for (r, z) in rows.enumerated() {
                let value = AttackLoss.row(o, z, label: labels[r], target: targets[r], gradient: &g)
                let wide = z.map { Float80($0) }
                let ref = Double(Self.reference(o, wide, labels[r], targets[r]))
                XCTAssertEqual(value, ref, accuracy: 1e-9 * max(1, abs(ref)), "\(o) row \(r)")
                let h: Float80 = 1e-5
                for j in 0..<6 {
                    var up = wide, down = wide
                    up[j] += h; down[j] -= h
                    let numeric = Double((Self.reference(o, up, labels[r], targets[r]) - Self.reference(o, down, labels[r], targets[r])) / (2 * h))
                    XCTAssertEqual(g[j], numeric, accuracy: 1e-4 * max(abs(numeric), abs(g[j])) + 1e-15,
                                   "\(o) row \(r) class \(j)")
                }
            }
        }
    }

    /// A tiny network made confident by scaling its last layer (weights and bias, so the argmax
    /// stays), image by image, to a top-class margin of 19 (1 - p about 1e-8, where float32
    /// holds p_y as 1): the exact seeds give the input gradient that finite differences of the
    /// 80-bit loss measure; float32's softmax - onehot does not (so this test tells them apart).
    func testInputGradientOfConfidentModelMatchesFiniteDifferences() throws {
        let spec = ModelSpec(name: "tiny", input: InputSpec(shape: [1, 8, 8], range: [0, 1]), classes: (0..<5).map(String.init), layers: [
            .conv2d("0", 1, 4, kernel: 3, padding: 1), LayerSpec(name: "1", type: "relu"), .pool("avgpool2d", "2", kernel: 2),
            LayerSpec(name: "3", type: "flatten"), .linear("4", 64, 5),
        ])
        let model = try Model(spec: spec)
        model.initialize(seed: 11)
        let weight = model.parameter(named: "4.weight")!, bias = model.parameter(named: "4.bias")!
        let (originalWeight, originalBias) = (weight.value, bias.value)
        var float32Failures = 0
        for image in 0..<4 {
            let x = TestTensors.uniform([1, 1, 8, 8], 0.2, 0.8, seed: 12 + UInt64(image))
            (weight.value, bias.value) = (originalWeight, originalBias)
            let raw = try model.predict(x).data
            let label = raw.indices.max { raw[$0] < raw[$1] }!
            let margin = raw[label] - raw.indices.filter { $0 != label }.map { raw[$0] }.max()!
            weight.value = originalWeight * (19 / margin)
            bias.value = originalBias * (19 / margin)
            let z = try model.predict(x).data
            let loss = Self.referenceCE(z.map { Float80($0) }, label)
            XCTAssertEqual(z.indices.max { z[$0] < z[$1] }, label)
            XCTAssertTrue(loss > 0 && loss < 1e-7, "saturated: 1 - p = \(loss)")

            let e = Ensemble(model)
            let objective = { (v: Tensor) throws -> Double in
                Double(Self.referenceCE(try model.predict(v).data.map { Float80($0) }, label))
            }
            let exact = try e.inputGradient(x, e.executions()) { _, all in [AttackLoss.crossEntropySeed(all[0], [label], weight: 1)] }.gradient
            let rounded = try e.inputGradient(x, e.executions()) { _, all in
                [Loss.crossEntropy(logits: all[0], labels: [label], reduction: .sum).gradient]
            }.gradient
            let largest = exact.data.map(abs).max()!
            XCTAssertGreaterThan(largest, 0)
            let check = GradientCheck(epsilon: 1e-3, relativeTolerance: 3e-2, absoluteTolerance: 1e-2 * largest, maxEntries: 64)
            let report = try check.check(at: x, analytic: exact, objective)
            XCTAssertTrue(report.passed, "image \(image), exact: \(report)")
            if !(try check.check(at: x, analytic: rounded, objective)).passed { float32Failures += 1 }
        }
        XCTAssertEqual(float32Failures, 4, "float32 softmax - onehot should be rounding noise on every image")
    }
}
