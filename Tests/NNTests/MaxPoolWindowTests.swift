import TensorEngine
import TestSupport
import XCTest
@testable import NN

/// Max pooling's windows against their definition, written here from the window's taps: each
/// output is the largest input among the window's taps that fall inside the plane, the first in
/// scan order on ties (the one the input gradient goes to). Values drawn from a few levels, so
/// windows tie often; geometries with padding, dilation, ceil mode and a clipped last window.
extension LayerGradientTests {
    func testMaxPoolWindowsMatchTheirDefinition() throws {
        // (kernel, stride, padding top/left/bottom/right, dilation, ceil mode, input C×H×W)
        let cases: [((Int, Int), (Int, Int), Padding2d, (Int, Int), Bool, [Int])] = [
            ((3, 3), (2, 2), Padding2d(top: 1, left: 1, bottom: 1, right: 1), (1, 1), false, [3, 16, 16]),   // ResNet's stem
            ((3, 3), (2, 2), Padding2d(top: 1, left: 0, bottom: 0, right: 1), (1, 2), true, [2, 8, 9]),
            ((2, 3), (1, 2), Padding2d(top: 1, left: 1, bottom: 1, right: 1), (2, 1), false, [2, 7, 6]),
            ((3, 3), (3, 3), Padding2d(top: 0, left: 0, bottom: 0, right: 0), (1, 1), true, [1, 8, 8]),
        ]
        for (i, (kernel, stride, pads, dilation, ceil, input)) in cases.enumerated() {
            var spec = LayerSpec.pool("maxpool2d", "p", kernel: IntPair(kernel.0, kernel.1), stride: IntPair(stride.0, stride.1))
            (spec.padding, spec.dilation, spec.ceilMode) = (pads, IntPair(dilation.0, dilation.1), ceil)
            let m = try model([spec], input: input)
            let out = m.outputShapes["p"]!
            let (C, H, W, OH, OW) = (input[0], input[1], input[2], out[1], out[2])
            var rng = SeededRNG(seed: UInt64(40 + i))
            let x = Tensor(shape: [2] + input, data: (0..<(2 * C * H * W)).map { _ in Float(rng.next(below: 5)) * 0.25 })
            let r = Execution()
            let forward = try m.forward(x, r, record: true)
            let seed = TestTensors.uniform(forward.logits.shape, seed: UInt64(i))
            let dx = try m.backward(forward.trace!, seeds: ["logits": seed], input: true, parameters: false, r).input!
            var wantY: [Float] = [], wantDx = [Float](repeating: 0, count: x.count)
            for plane in 0..<(2 * C) {
                for oy in 0..<OH {
                    for ox in 0..<OW {
                        var best = -Float.infinity, at = -1
                        for ki in 0..<kernel.0 {
                            for kj in 0..<kernel.1 {
                                let (y, xx) = (oy * stride.0 - pads.top + ki * dilation.0, ox * stride.1 - pads.left + kj * dilation.1)
                                guard (0..<H).contains(y), (0..<W).contains(xx) else { continue }
                                let v = x.data[plane * H * W + y * W + xx]
                                if v > best { (best, at) = (v, plane * H * W + y * W + xx) }
                            }
                        }
                        wantY.append(best)
                        wantDx[at] += seed.data[wantY.count - 1]
                    }
                }
            }
            XCTAssertEqual(forward.logits.data, wantY, "case \(i): outputs")
            XCTAssertEqual(dx.data, wantDx, "case \(i): the gradient goes to each window's first maximum")
        }
    }
}
