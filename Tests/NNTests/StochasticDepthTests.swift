import Foundation
import TensorEngine
import TestSupport
import XCTest
@testable import NN

/// Stochastic depth (torchvision's StochasticDepth(p, "row"), EfficientNet's residual
/// branches): the gradient of a train-mode draw against finite differences, the drop rate
/// over many items, eval mode as the identity, an item's draw independent of its batch, and
/// model/create's efficientnet_b0 holding it where torchvision does.
extension LayerGradientTests {
    func testStochasticDepthGradientWithAFixedDraw() throws {
        let m = try model([.conv2d("c", 2, 3, kernel: 3, padding: 1), .stochasticDepth("sd", p: 0.5)], input: [2, 4, 4])
        let layer = try XCTUnwrap(m.layer(named: "sd") as? StochasticDepth)
        // checkLayer's executions (seed 99) drop some of these 6 items and keep others.
        let scales = layer.rowScales(items: 6, Execution(mode: .train, seed: 99))
        XCTAssertTrue(scales.contains(0) && scales.contains(2), "\(scales)")
        try checkLayer(m, TestTensors.uniform([6, 2, 4, 4], seed: 4), mode: .train)
    }

    func testStochasticDepthDropsItemsAtItsRateAndScalesTheKeptOnes() throws {
        let p: Float = 0.3, items = 20_000
        let layer = StochasticDepth(name: "features.2.1.stochastic_depth", p: p)
        let scales = layer.rowScales(items: items, Execution(mode: .train, seed: 5))
        let dropped = Double(scales.filter { $0 == 0 }.count) / Double(items)
        // Four standard deviations of a binomial rate: fails by chance once in ~16,000 seeds.
        XCTAssertEqual(dropped, Double(p), accuracy: 4 * (Double(p) * Double(1 - p) / Double(items)).squareRoot())
        XCTAssertTrue(scales.allSatisfy { $0 == 0 || $0 == 1 / (1 - p) })
        // Whole items: each row of a forward is all dropped or all scaled.
        let x = TestTensors.uniform([64, 3, 2, 2], seed: 6)
        let (y, _) = layer.compute(x, Execution(mode: .train, seed: 5))
        let rowScales = layer.rowScales(items: 64, Execution(mode: .train, seed: 5))
        for r in 0..<64 {
            for i in (r * 12)..<((r + 1) * 12) { XCTAssertEqual(y.data[i], x.data[i] * rowScales[r]) }
        }
        XCTAssertTrue(rowScales.contains(0) && rowScales.contains(1 / (1 - p)))
        // Another seed, another draw.
        XCTAssertNotEqual(layer.rowScales(items: 64, Execution(mode: .train, seed: 6)), rowScales)
    }

    func testStochasticDepthIsTheIdentityInEvalModeAndAtZero() throws {
        let x = TestTensors.uniform([8, 3, 2, 2], seed: 7)
        XCTAssertEqual(StochasticDepth(name: "sd", p: 0.9).compute(x, Execution(mode: .eval, seed: 1)).0.data, x.data)
        XCTAssertEqual(StochasticDepth(name: "sd", p: 0).compute(x, Execution(mode: .train, seed: 1)).0.data, x.data)
        XCTAssertEqual(StochasticDepth(name: "sd", p: 1).compute(x, Execution(mode: .train, seed: 1)).0.data, [Float](repeating: 0, count: x.count))
    }

    /// Item i draws the same whether it is row i of one batch or row i - offset of another.
    func testAnItemsDrawDoesNotDependOnItsBatch() throws {
        let layer = StochasticDepth(name: "sd", p: 0.5)
        let whole = layer.rowScales(items: 40, Execution(mode: .train, seed: 3))
        let run = Execution(mode: .train, seed: 3)
        run.itemOffset = 25
        XCTAssertEqual(layer.rowScales(items: 15, run), Array(whole[25...]))
        // Layers draw apart: another name, another pattern.
        XCTAssertNotEqual(StochasticDepth(name: "other", p: 0.5).rowScales(items: 40, Execution(mode: .train, seed: 3)), whole)
    }

    func testStochasticDepthSpecIsChecked() throws {
        XCTAssertThrowsError(try model([LayerSpec(name: "sd", type: "stochastic_depth")], input: [1, 2, 2])) {
            XCTAssertTrue("\($0)".contains("p"), "\($0)")
        }
        XCTAssertThrowsError(try model([.stochasticDepth("sd", p: 1.5)], input: [1, 2, 2])) {
            XCTAssertTrue("\($0)".contains("must be in [0, 1]"), "\($0)")
        }
    }

    /// torchvision's MBConv: StochasticDepth(0.2 · block / 16) on every residual branch, the
    /// blocks counted from 0 over all stages (those without a residual sum included).
    func testEfficientNetB0HasStochasticDepthOnItsResidualBranches() throws {
        let spec = try XCTUnwrap(try Architectures.spec("efficientnet_b0", classes: 10, inputSize: [3, 32, 32]))
        let nodes = try XCTUnwrap(spec.nodes)
        let depths = nodes.filter { $0.type == "stochastic_depth" }
        XCTAssertEqual(depths.count, 9)
        let expected: [String: Float] = ["features.2.1": 2, "features.3.1": 4, "features.4.1": 6, "features.4.2": 7, "features.5.1": 9,
                                         "features.5.2": 10, "features.6.1": 12, "features.6.2": 13, "features.6.3": 14]
        for node in depths {
            let block = String(node.name.dropLast(".stochastic_depth".count))
            let index = try XCTUnwrap(expected[block], node.name)
            XCTAssertEqual(try XCTUnwrap(node.p), 0.2 * index / 16, accuracy: 1e-7, node.name)
            // It feeds the block's residual sum.
            XCTAssertEqual(nodes.first { $0.name == block }?.inputs?.first, node.name)
        }
    }
}
