import Foundation
import TensorEngine
import TestSupport
import XCTest
@testable import NN

/// An input gradient alone (an attack's backward pass) runs one task per group of images
/// (`productImages`), not the weight gradient's eight fixed segments: every image's gradient
/// must be the one it gets on its own, bit for bit, on small planes (tap-class products), a
/// dense plane, a pointwise layer and a depthwise one, at batch sizes that split into groups
/// in different ways; and the dense layer's gradient must match finite differences.
extension LayerGradientTests {
    func testInputGradientGroupsGiveEachImagesOwnBits() throws {
        let relu = LayerSpec(name: "r", type: "relu"), flatten = LayerSpec(name: "f", type: "flatten")
        let cases: [([LayerSpec], [Int])] = [
            ([conv(8, 8, kernel: 3, pads: 1), relu, flatten, .linear("fc", 8 * 4, 3)], [8, 2, 2]),
            ([conv(6, 8, kernel: 3, pads: 1), relu, flatten, .linear("fc", 8 * 16, 3)], [6, 4, 4]),
            ([conv(3, 4, kernel: 3, pads: 1), relu, conv(4, 6, kernel: 1, name: "p"), flatten, .linear("fc", 6 * 100, 3)], [3, 10, 10]),
            ([conv(4, 4, kernel: 3, pads: 1, groups: 4), flatten, .linear("fc", 4 * 36, 3)], [4, 6, 6]),
        ]
        for (i, (layers, input)) in cases.enumerated() {
            let m = try model(layers, input: input)
            for batch in [13, 48] {
                let x = TestTensors.uniform([batch] + input, seed: UInt64(40 + i))
                let seeds = TestTensors.uniform([batch, 3], seed: UInt64(90 + i))
                func gradient(_ x: Tensor, _ seeds: Tensor) throws -> [Float] {
                    let r = Execution()
                    let out = try m.forward(x, r, record: true)
                    return try m.backward(out.trace!, seeds: ["logits": seeds], input: true, parameters: false, r).input!.data
                }
                let whole = try gradient(x, seeds)
                let per = input.reduce(1, *)
                XCTAssertTrue(whole.contains { $0 != 0 }, "case \(i) batch \(batch): a gradient")
                for image in [0, 5, batch - 1] {
                    let one = try gradient(Tensor(shape: [1] + input, data: Array(x.data[(image * per)..<((image + 1) * per)])),
                                           Tensor(shape: [1, 3], data: Array(seeds.data[(image * 3)..<(image * 3 + 3)])))
                    XCTAssertEqual(Array(whole[(image * per)..<((image + 1) * per)]).map(\.bitPattern), one.map(\.bitPattern),
                                   "case \(i) batch \(batch) image \(image)")
                }
            }
        }
        let dense = try model([conv(3, 4, kernel: 3, pads: 1), flatten, .linear("fc", 4 * 16, 3)], input: [3, 4, 4])
        try checkLayer(dense, TestTensors.uniform([13, 3, 4, 4], seed: 7), check: GradientCheck(maxEntries: 24))
    }
}
