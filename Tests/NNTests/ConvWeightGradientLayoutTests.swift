import Foundation
import TensorEngine
import TestSupport
import XCTest
@testable import NN

/// A convolution's weight gradient computed as dWᵀ = cols · dYᵀ (then transposed) or as
/// dW = dY · colsᵀ (`Conv2d+WeightGradientLayout.swift`) must give the same bits for every
/// geometry (grouped, strided, dilated, pointwise, fused ReLU / max pooling, tap classes) and at
/// batches with one and with several segments; and the rule must pick the dY-major product for
/// ResNet's layer3 and layer4 at a 32×32 input and the column-major one for its other layers.
extension LayerGradientTests {
    func testConvWeightGradientLayoutsGiveTheSameBits() throws {
        let relu = LayerSpec(name: "r", type: "relu")
        let pool = LayerSpec.pool("maxpool2d", "p", kernel: 2, stride: 2)
        let cases: [([LayerSpec], [Int])] = [
            ([conv(8, 16, kernel: 3, pads: 1)], [8, 1, 1]),
            ([conv(8, 16, kernel: 3, pads: 1)], [8, 2, 2]),
            ([conv(6, 12, kernel: 3, pads: 1), relu], [6, 5, 7]),
            ([conv(8, 16, kernel: 3, stride: 2, pads: 1, bias: false)], [8, 6, 6]),
            ([conv(4, 9, kernel: IntPair(3, 2), stride: IntPair(1, 2), pads: Padding2d(top: 2, left: 0, bottom: 1, right: 1))], [4, 3, 4]),
            ([conv(4, 8, kernel: 3, pads: 2, dilation: 2)], [4, 6, 5]),
            ([conv(8, 16, kernel: 3, pads: 1, groups: 2)], [8, 3, 3]),
            ([conv(8, 12, kernel: 1, pads: 0)], [8, 4, 4]),
            ([conv(8, 16, kernel: 3, pads: 1), relu, pool], [8, 8, 8]),
        ]
        defer { Conv2d.forceWeightGradientLayout = nil }
        for (i, (layers, input)) in cases.enumerated() {
            let m = try model(layers, input: input)
            for batch in [1, 5, 64] {
                let x = TestTensors.uniform([batch] + input, seed: UInt64(20 * i + batch))
                func gradients(_ layout: WeightGradientLayout) throws -> [[Float]] {
                    Conv2d.forceWeightGradientLayout = layout
                    let r = Execution()
                    let out = try m.forward(x, r, record: true)
                    let seeds = ["logits": TestTensors.uniform(out.logits.shape, seed: 3)]
                    let g = try m.backward(out.trace!, seeds: seeds, input: true, parameters: true, r)
                    return [g.input!.data] + m.parameters.map { g.parameters[$0]!.data }
                }
                let a = try gradients(.columnMajor), b = try gradients(.outputMajor)
                XCTAssertTrue(a[1].contains { $0 != 0 }, "case \(i): a weight gradient")
                for (name, (u, v)) in zip(["dx", "dW", "db"], zip(a, b)) {
                    let differing = zip(u, v).filter { $0.bitPattern != $1.bitPattern }.count
                    XCTAssertEqual(differing, 0, "case \(i) batch \(batch): \(name) differs in \(differing) of \(u.count)")
                }
            }
        }
    }

    func testConvWeightGradientLayoutRuleForResNet() {
        func layout(_ c: Int, _ o: Int, plane: Int) -> WeightGradientLayout {
            let layer = Conv2d(name: "c", inChannels: c, outChannels: o, kernel: (3, 3), stride: (1, 1), padding: (1, 1), bias: false)
            let g = layer.geometry([c, plane, plane])
            return layer.weightGradientLayout(g, batch: 64)
        }
        XCTAssertEqual(layout(64, 64, plane: 8), .columnMajor, "layer1: 4096 columns")
        XCTAssertEqual(layout(256, 256, plane: 2), .outputMajor, "layer3: 256 columns, 2304×256 weights")
        XCTAssertEqual(layout(512, 512, plane: 1), .outputMajor, "layer4: 64 columns, 4608×512 weights")
        XCTAssertEqual(layout(128, 128, plane: 4), .columnMajor, "layer2: 1024 columns beside 128 filters")
        XCTAssertEqual(layout(512, 512, plane: 7), .columnMajor, "layer4 at 224: 3136 columns beside 512 filters")
    }
}
