import Foundation
import TensorEngine
import TestSupport
import XCTest
@testable import NN

/// A convolution's products with at most four columns are taken the other way round on the
/// GEMM's few-row tiles, the forward's Cᵀ = colsᵀ·Wᵀ and the input gradient's colᵀ = dYᵀ·W
/// (`Conv2d+NarrowProduct.swift`): logits and gradients must be those of the wide products
/// bit for bit, for tap classes and dense products, groups, an output-channel count that leaves a partial panel, a fused ReLU and
/// pooling, at batches where some, all or none of the products are narrow, on every GEMM
/// kernel; and the narrow path must have been taken (its calls are counted).
extension LayerGradientTests {
    func testConvNarrowProductsGiveTheWideProductsBits() throws {
        let relu = LayerSpec(name: "r", type: "relu")
        let pool = LayerSpec.pool("maxpool2d", "p", kernel: 2, stride: 2)
        let cases: [([LayerSpec], [Int])] = [
            ([conv(8, 16, kernel: 3, pads: 1)], [8, 1, 1]),                   // one class, one position
            ([conv(8, 32, kernel: 3, pads: 1)], [8, 2, 2]),                   // four classes of one position
            ([conv(8, 16, kernel: 1, pads: 1), relu], [8, 2, 2]),             // one live class of 4 positions, empty border classes
            ([conv(8, 16, kernel: 1)], [8, 1, 1]),                            // dense, one column
            ([conv(8, 24, kernel: 1, stride: 2)], [8, 4, 4]),                 // dense, four columns
            ([conv(8, 32, kernel: 3, pads: 1, groups: 2)], [8, 2, 2]),
            ([conv(6, 20, kernel: 3, pads: 1)], [6, 2, 2]),                   // 20 filters: a partial panel
            ([conv(8, 16, kernel: 3, pads: 1), relu, pool], [8, 2, 2]),
        ]
        defer { Conv2d.forceWideProducts = false; PackedMatrix.force(nil) }
        for kernel in PackedMatrix.availableKernels {
            PackedMatrix.force(kernel)
            for (i, (layers, input)) in cases.enumerated() {
                let m = try model(layers, input: input)
                for batch in [1, 2, 3, 5] {
                    let x = TestTensors.uniform([batch] + input, seed: UInt64(30 * i + batch))
                    var backwardCalls = 0
                    func run(wide: Bool) throws -> [[Float]] {
                        Conv2d.forceWideProducts = wide
                        let r = Execution()
                        let out = try m.forward(x, r, record: true)
                        let seeds = ["logits": TestTensors.uniform(out.logits.shape, seed: 9)]
                        let before = Conv2d.narrowCalls.current
                        let dx = try m.backward(out.trace!, seeds: seeds, input: true, parameters: false, r)
                        backwardCalls = Conv2d.narrowCalls.current - before
                        let g = try m.backward(out.trace!, seeds: seeds, input: true, parameters: true, r)
                        return [out.logits.data, dx.input!.data, g.input!.data] + m.parameters.map { g.parameters[$0]!.data }
                    }
                    let before = Conv2d.narrowCalls.current
                    let narrow = try run(wide: false)
                    let taken = Conv2d.narrowCalls.current - before
                    if batch == 1 {
                        XCTAssertGreaterThan(taken, 0, "case \(i): the narrow product was taken at batch 1")
                        XCTAssertGreaterThan(backwardCalls, 0, "case \(i): the input gradient's narrow product was taken at batch 1")
                    }
                    let wide = try run(wide: true)
                    XCTAssertEqual(backwardCalls, 0, "case \(i): forced wide")
                    for (name, (a, b)) in zip(["logits", "dx", "dx with dW", "dW", "db"], zip(narrow, wide)) {
                        let differing = zip(a, b).filter { $0.bitPattern != $1.bitPattern }.count
                        XCTAssertEqual(differing, 0, "\(kernel) case \(i) batch \(batch): \(name) differs in \(differing) of \(a.count)")
                    }
                }
            }
        }
    }
}
