import Foundation
import TensorEngine
import TestSupport
import XCTest
@testable import NN

/// At batch 1 a convolution's product stores its finished values (bias, then the fused ReLU or
/// clamp) straight into the output (`Epilogue`), instead of a separate pass: the logits and the
/// kept activations must be the separate pass's bit for bit, on the dense and the pointwise
/// (input read in place) products, split between the cores or not, with a max pooling after
/// the ReLU, with groups, without a bias, with a NaN in the input; and the path must have been
/// taken. Batch 2 runs the separate pass and must agree with batch 1 image by image.
extension LayerGradientTests {
    func testConvEpilogueInTheProductGivesTheSeparatePassBits() throws {
        let relu = LayerSpec(name: "r", type: "relu"), flatten = LayerSpec(name: "f", type: "flatten")
        let cases: [([LayerSpec], [Int], [String])] = [
            ([conv(4, 20, kernel: 3, pads: 1), relu, flatten, .linear("fc", 20 * 256, 3)], [4, 16, 16], ["r"]),
            ([conv(4, 20, kernel: 3, pads: 1), relu, .pool("maxpool2d", "p", kernel: 2, stride: 2, padding: 0), flatten,
              .linear("fc", 20 * 64, 3)], [4, 16, 16], []),
            ([conv(4, 20, kernel: 3, pads: 1), relu, .pool("maxpool2d", "p", kernel: 2, stride: 2, padding: 0), flatten,
              .linear("fc", 20 * 64, 3)], [4, 16, 16], ["r"]),
            ([conv(16, 48, kernel: 3, pads: 1), relu, flatten, .linear("fc", 48 * 576, 3)], [16, 24, 24], []),
            ([conv(6, 13, kernel: 1), spec("relu6", "r6"), flatten, .linear("fc", 13 * 144, 3)], [6, 12, 12], ["r6"]),
            ([conv(8, 16, kernel: 1, groups: 2, bias: false), flatten, .linear("fc", 16 * 256, 3)], [8, 16, 16], ["c"]),
            ([conv(3, 8, kernel: 3, stride: 2, pads: 1), spec("hardtanh", "ht") { $0.minVal = -0.5; $0.maxVal = 0.25 }, flatten,
              .linear("fc", 8 * 100, 3)], [3, 20, 20], ["ht"]),
        ]
        defer { (Conv2d.forceSeparateEpilogue, Conv2d.forceDenseTaps) = (false, false) }
        Conv2d.forceDenseTaps = true
        for (i, (layers, input, keep)) in cases.enumerated() {
            let m = try model(layers, input: input)
            var x = TestTensors.uniform([2] + input, seed: UInt64(30 + i)).map { $0 * 4 }
            x.data[7] = .nan
            let first = Tensor(shape: [1] + input, data: Array(x.data.prefix(x.count / 2)))
            func run(_ x: Tensor, separate: Bool) throws -> [[Float]] {
                Conv2d.forceSeparateEpilogue = separate
                let out = try m.forward(x, Execution(), keep: Set(keep))
                return [out.logits.data] + keep.map { out.activations[$0]!.data }
            }
            let before = Conv2d.fusedEpilogueCalls.current
            let fused = try run(first, separate: false)
            XCTAssertGreaterThan(Conv2d.fusedEpilogueCalls.current, before, "case \(i): the product's epilogue was used")
            let separate = try run(first, separate: true)
            let pair = try run(x, separate: false)
            // The NaN reaches every logit where no ReLU stops it; the kept activations still hold numbers.
            XCTAssertTrue(fused.last!.contains { $0 != 0 && !$0.isNaN }, "case \(i): the last output holds values")
            for (j, (a, b)) in zip(fused, separate).enumerated() {
                XCTAssertEqual(a.map(\.bitPattern), b.map(\.bitPattern), "case \(i) output \(j): fused against separate")
                XCTAssertEqual(a.map(\.bitPattern), Array(pair[j].prefix(a.count)).map(\.bitPattern), "case \(i) output \(j): batch 1 against 2")
            }
        }
    }
}
