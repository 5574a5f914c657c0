import Foundation
import TensorEngine
import TestSupport
import XCTest
@testable import NN

/// The input gradient of a convolution block ending in a 2×2 max pooling, asked for without
/// parameter gradients (what an attack asks), comes from the pooled gradient directly
/// (`Conv2d+PooledInputGradient.swift`): checked against finite differences and against the
/// dense product the same pass takes when parameter gradients are asked for too. Every case has
/// 64 filters, the fewest that take that path.
extension LayerGradientTests {
    func testPooledInputGradientMatchesFiniteDifferencesAndTheDenseProduct() throws {
        let relu = LayerSpec(name: "r", type: "relu")
        func pool() -> LayerSpec { .pool("maxpool2d", "p", kernel: 2, stride: 2) }
        let cases: [([LayerSpec], [Int])] = [
            // Padding; an even plane tiled by the windows; 36 column rows (one 32-wide block).
            ([conv(4, 64, kernel: 3, pads: 1), relu, pool()], [4, 4, 6]),
            // Stride 2, dilation 2, uneven padding: a 5×5 output whose last row and column no window reads.
            ([conv(2, 64, kernel: 3, stride: 2, pads: Padding2d(top: 2, left: 0, bottom: 1, right: 1), dilation: 2), relu, pool()], [2, 10, 13]),
            // No ReLU: every window's winner gets its gradient.
            ([conv(2, 64, kernel: IntPair(2, 3), pads: Padding2d(top: 0, left: 1, bottom: 1, right: 1), bias: false), pool()], [2, 5, 4]),
            // 400 column rows: the 32-wide blocks and the 8-wide rest (400 = 12·32 + 2·8).
            ([conv(16, 64, kernel: 5, pads: 2), relu, pool()], [16, 6, 6]),
        ]
        for (i, (layers, input)) in cases.enumerated() {
            let m = try model(layers, input: input)
            let x = TestTensors.uniform([2] + input, seed: UInt64(40 + i))
            let weights = TestTensors.uniform(try m.predict(x).shape, seed: UInt64(60 + i))
            let conv = m.layers.compactMap { $0 as? Conv2d }.first!
            // As initialised, then with the ReLU's channels alternately always open and always
            // shut (biases ±2, six times the spread of the weighted sums): the mask is exercised, and no
            // convolution output sits near the ReLU's kink, where finite differences fail.
            for shifted in [false, true] {
                if shifted, let b = conv.bias, layers.contains(where: { $0.type == "relu" }) {
                    b.value = Tensor(shape: b.value.shape, data: (0..<b.value.count).map { $0 % 2 == 0 ? 2 : -2 })
                }
                let r = Execution()
                let out = try m.forward(x, r, record: true)
                let pooled = try m.backward(out.trace!, seeds: ["logits": weights], input: true, parameters: false, r).input!
                let dense = try m.backward(out.trace!, seeds: ["logits": weights], input: true, parameters: true, r).input!
                XCTAssertEqual(pooled.shape, x.shape)
                XCTAssertGreaterThan(pooled.data.filter { $0 != 0 }.count, x.count / 8, "case \(i): the gradient reaches the input")
                for (k, (a, b)) in zip(pooled.data, dense.data).enumerated() {
                    XCTAssertEqual(a, b, accuracy: 1e-5 * max(1, abs(b)), "case \(i) at \(k)")
                }
                // Finite differences for cases 1 and 2; cases 0 and 3 against the dense product
                // only: with 32 open channels over a few windows, some window's values sit
                // within a step of a tie, where finite differences fail.
                if shifted && (i == 1 || i == 2) {
                    // Summed in Double: float32 rounding of the sum would swamp the differences.
                    let report = try GradientCheck().check(at: x, analytic: pooled) { v in
                        zip(try m.forward(v, Execution()).logits.data, weights.data).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
                    }
                    XCTAssertTrue(report.passed, "case \(i): \(report)")
                }
            }
        }
    }
}
