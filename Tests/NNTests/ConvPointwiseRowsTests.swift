import Foundation
import TensorEngine
import TestSupport
import XCTest
@testable import NN

/// A pointwise convolution on a plane of at least `Conv2d.rowsPlane` positions reads each
/// image's input planes in place (`PackedMatrix.multiplyRows`) instead of packing them, and its
/// input gradient reads dY in place and writes dx directly: its outputs, input gradients (alone
/// and with the weight gradients) and weight gradients must be the packed path's bit for bit, on
/// whole and partial last panels, with groups, a fused ReLU, a bias, at batches of one image
/// (the product split between the cores) and several; and the path must have been taken.
extension LayerGradientTests {
    func testPointwiseRowsGiveThePackedBits() throws {
        let relu = LayerSpec(name: "r", type: "relu")
        let cases: [([LayerSpec], [Int])] = [
            ([conv(8, 20, kernel: 1)], [8, 12, 12]),            // 144 positions: 9 whole panels
            ([conv(6, 13, kernel: 1), relu], [6, 13, 11]),      // 143: a partial last panel, 13 filters
            ([conv(8, 16, kernel: 1, groups: 2)], [8, 16, 16]),
        ]
        defer { Conv2d.forcePackedPointwise = false }
        for (i, (layers, input)) in cases.enumerated() {
            let m = try model(layers, input: input)
            let conv = m.layers.compactMap { $0 as? Conv2d }.first!
            if let b = conv.bias { b.value = TestTensors.uniform(b.value.shape, -0.5, 0.5, seed: UInt64(70 + i)) }
            for batch in [1, 3] {
                let x = TestTensors.uniform([batch] + input, seed: UInt64(10 * i + batch))
                func run(packed: Bool) throws -> [[Float]] {
                    Conv2d.forcePackedPointwise = packed
                    let r = Execution()
                    let out = try m.forward(x, r, record: true)
                    let plain = try m.forward(x, Execution())   // no trace: the fused block
                    let seeds = ["logits": TestTensors.uniform(out.logits.shape, seed: 3)]
                    let dx = try m.backward(out.trace!, seeds: seeds, input: true, parameters: false, r).input!
                    let g = try m.backward(out.trace!, seeds: seeds, input: true, parameters: true, r)
                    return [out.logits.data, plain.logits.data, dx.data, g.input!.data] + m.parameters.map { g.parameters[$0]!.data }
                }
                let before = Conv2d.pointwiseRowsCalls.current
                let rows = try run(packed: false)
                XCTAssertGreaterThan(Conv2d.pointwiseRowsCalls.current, before, "case \(i) batch \(batch): rows path taken")
                let packed = try run(packed: true)
                XCTAssertTrue(rows[0].contains { $0 != 0 })
                for (name, (a, b)) in zip(["logits", "fused logits", "dx", "dx with dW", "dW", "db"], zip(rows, packed)) {
                    let differing = zip(a, b).filter { $0.bitPattern != $1.bitPattern }.count
                    XCTAssertEqual(differing, 0, "case \(i) batch \(batch): \(name) differs in \(differing) of \(a.count)")
                }
            }
        }
    }
}
