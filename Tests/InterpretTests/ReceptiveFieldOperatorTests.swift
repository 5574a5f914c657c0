import Interpret
import NN
import TensorEngine
import XCTest

/// Receptive fields through the spatial operators of issue 15: dilated, grouped convolution
/// with asymmetric padding, a reflect pad, ceil-mode pooling and a strided slice. The chain is
/// linear (no ReLU, no max), so the box must equal the input gradient's support exactly,
/// including at the borders where padding and partial windows cut it.
extension ReceptiveFieldTests {
    func testSpatialOperatorsBoxEqualsTheGradientSupport() throws {
        var conv = LayerSpec.conv2d("0", 2, 4, kernel: 3)
        (conv.groups, conv.dilation, conv.padding) = (2, IntPair(2, 1), Padding2d(top: 1, left: 0, bottom: 2, right: 1))
        var pad = LayerSpec(name: "1", type: "pad")
        (pad.pads, pad.mode) = ([0, 0, 1, 0, 0, 0, 0, 2], "reflect")
        var pool = LayerSpec.pool("avgpool2d", "2", kernel: 3, stride: 2)
        pool.ceilMode = true
        var slice = LayerSpec(name: "3", type: "slice")
        (slice.dim, slice.start, slice.step) = (3, 1, 2)
        var softmax = LayerSpec(name: "4", type: "softmax")
        softmax.dim = 1
        let m = try model([conv, pad, pool, slice, softmax], input: [2, 15, 17])
        // conv: 15 + 3 - 4 - 1 + 1 = 14 rows, 17 + 1 - 2 - 1 + 1 = 16 columns; pad: 15 × 18;
        // pool: ceil(12 / 2) + 1 = 7 × ceil(15 / 2) + 1 = 9, the last column window starting at 16 < 18;
        // slice: columns 1, 3, 5, 7 of the pooled 9.
        XCTAssertEqual(m.outputShapes["2"], [4, 7, 9])
        XCTAssertEqual(m.outputShapes["4"], [4, 7, 4])
        for (y, x) in [(0, 0), (6, 3), (3, 2), (6, 0)] {
            let box = try ReceptiveField.box(model: m, layer: "4", y: y, x: x)
            XCTAssertEqual(bounds(try gradientSupport(m, layer: "4", y: y, x: x)), box, "location (\(y), \(x))")
        }
        // Pool output column 8 (the ceil-mode window over padded columns 16...17) reads input
        // columns that only the reflect border maps back.
        for (y, x) in [(6, 8), (0, 8)] {
            let box = try ReceptiveField.box(model: m, layer: "2", y: y, x: x)
            XCTAssertEqual(bounds(try gradientSupport(m, layer: "2", y: y, x: x)), box, "pool location (\(y), \(x))")
        }
    }
}
