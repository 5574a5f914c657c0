import TensorEngine
import TestSupport
import XCTest
@testable import NN

/// concat's broadcasting (what ONNX's Expand then Concat of a ViT's class token import as): a
/// size-1 dimension outside `dim` stretches to the others' size, the batch included, and the
/// stretched input's gradient sums over it; checked against finite differences.
extension LayerGradientTests {
    func testConcatBroadcastsASize1DimensionAndTheBatch() throws {
        // A [1, 2, 1, 3] token joined to per-item [N, 2, 3, 3] rows broadcasts over the batch
        // (torch.cat of class_token.expand(N, -1, -1)); a [1, 1, 1, 3] one over the channels too.
        let m = try graph([
            node("token", "parameter", shape: [1, 2, 1, 3]),
            node("joined", "concat", ["token", "input"], dim: 2),
            node("shared", "parameter", shape: [1, 1, 1, 3]),
            node("both", "concat", ["joined", "shared"], dim: -2),
        ], input: [2, 3, 3])
        XCTAssertEqual(m.outputShapes["joined"], [2, 4, 3])
        XCTAssertEqual(m.outputShapes["both"], [2, 5, 3])
        try checkLayer(m, TestTensors.uniform([2, 2, 3, 3], seed: 3))
        XCTAssertThrowsError(try graph([node("w", "parameter", shape: [1, 3, 1, 3]), node("c", "concat", ["w", "input"], dim: 2)], input: [2, 3, 3])) {
            XCTAssertTrue("\($0)".contains("only a size 1 broadcasts"), "\($0)")
        }
    }
}
