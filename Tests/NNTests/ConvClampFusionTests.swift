import Foundation
import TensorEngine
import TestSupport
import XCTest
@testable import NN

/// A convolution followed by a clamp (relu6, hardtanh, clip) applies the clamp in its own
/// output loop when the pass has no trace (`Sequence.forward`): the logits and a kept clamp
/// output must be those of the layer-by-layer pass (a recorded forward does not fuse) bit for
/// bit, with values on both sides of both bounds and a NaN in the input; a kept convolution
/// output (needed before the clamp) keeps the layers apart.
extension LayerGradientTests {
    func testConvClampFusionGivesTheLayerByLayerBits() throws {
        let cases: [[LayerSpec]] = [
            [conv(3, 8, kernel: 3, pads: 1, name: "c1"), spec("relu6", "r6"), LayerSpec(name: "f", type: "flatten"), .linear("fc", 8 * 36, 4)],
            [conv(3, 8, kernel: 3, stride: 2, pads: 1, groups: 1, name: "c1"), spec("hardtanh", "ht") { $0.minVal = -0.5; $0.maxVal = 0.25 },
             conv(8, 8, kernel: 3, pads: 1, groups: 8, name: "c2"), spec("clip", "cl") { $0.clipMin = 0; $0.clipMax = 0.5 },
             LayerSpec(name: "f", type: "flatten"), .linear("fc", 8 * 9, 4)],
        ]
        for (i, layers) in cases.enumerated() {
            let m = try model(layers, input: [3, 6, 6])
            var x = TestTensors.uniform([2, 3, 6, 6], seed: UInt64(50 + i)).map { $0 * 8 }
            x.data[5] = .nan
            let clampName = layers[1].name
            let fused = try m.forward(x, Execution(), keep: [clampName])
            let layered = try m.forward(x, Execution(), keep: [clampName], record: true)
            XCTAssertTrue(fused.activations[clampName]!.data.contains { $0 == layers[1].maxValue }, "case \(i): the upper bound is reached")
            for (name, a, b) in [("logits", fused.logits, layered.logits), (clampName, fused.activations[clampName]!, layered.activations[clampName]!)] {
                XCTAssertEqual(a.data.map(\.bitPattern), b.data.map(\.bitPattern), "case \(i): \(name)")
            }
            // The convolution's own output kept: not fused, and still the same logits.
            let apart = try m.forward(x, Execution(), keep: ["c1", clampName])
            XCTAssertEqual(apart.logits.data.map(\.bitPattern), layered.logits.data.map(\.bitPattern), "case \(i): kept conv")
            XCTAssertNotEqual(apart.activations["c1"]!.data.map(\.bitPattern), apart.activations[clampName]!.data.map(\.bitPattern))
        }
    }
}

private extension LayerSpec {
    /// The clamp's upper bound as these cases set it.
    var maxValue: Float { maxVal ?? clipMax ?? 6 }
}
