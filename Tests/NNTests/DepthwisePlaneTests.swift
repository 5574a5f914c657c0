import Foundation
import TensorEngine
import TestSupport
import XCTest
@testable import NN

/// `Conv2d.depthwisePlane` (`advlens_depthwise_plane`) runs 16 outputs of a row per AVX-512
/// vector, a row's last ones through masks, or the portable loop: every width, on every kernel,
/// must give the bits of the one-output definition (per output, the kh·kw products added in
/// order from zero, padding read as zeros), for rows that are and are not multiples of the
/// vector width, strides 1, 2 and 3, dilation, asymmetric padding and none.
final class DepthwisePlaneTests: XCTestCase {
    func reference(_ x: [Float], _ g: ConvGeometry, _ w: [Float]) -> [Float] {
        var out = [Float](repeating: 0, count: g.outH * g.outW)
        for oy in 0..<g.outH {
            for ox in 0..<g.outW {
                var acc: Float = 0
                for ki in 0..<g.kernelH {
                    for kj in 0..<g.kernelW {
                        let iy = oy * g.strideH - g.padH + ki * g.dilationH, ix = ox * g.strideW - g.padW + kj * g.dilationW
                        let v: Float = iy >= 0 && iy < g.height && ix >= 0 && ix < g.width ? x[iy * g.width + ix] : 0
                        acc += w[ki * g.kernelW + kj] * v
                    }
                }
                out[oy * g.outW + ox] = acc
            }
        }
        return out
    }

    func testEveryRowWidthGivesTheOneOutputBits() {
        var geometries: [ConvGeometry] = []
        for width in [5, 7, 8, 15, 16, 17, 31, 32, 33, 48, 56, 112] {
            geometries.append(ConvGeometry(channels: 1, height: 5, width: width, kernel: (3, 3), stride: (1, 1), padding: (1, 1)))
            geometries.append(ConvGeometry(channels: 1, height: 6, width: width, kernel: (3, 3), stride: (2, 2), padding: (1, 1)))
        }
        geometries.append(ConvGeometry(channels: 1, height: 7, width: 40, kernel: (5, 5), stride: (1, 1), pads: (4, 4, 4, 4), dilation: (2, 2)))
        geometries.append(ConvGeometry(channels: 1, height: 4, width: 37, kernel: (3, 2), stride: (1, 1), pads: (2, 0, 1, 1)))
        geometries.append(ConvGeometry(channels: 1, height: 9, width: 7, kernel: (5, 5), stride: (2, 2), padding: (2, 2)))
        geometries.append(ConvGeometry(channels: 1, height: 6, width: 21, kernel: (3, 3), stride: (1, 1), padding: (0, 0)))
        geometries.append(ConvGeometry(channels: 1, height: 3, width: 3, kernel: (3, 3), stride: (3, 3), padding: (1, 1)))
        defer { PackedMatrix.force(nil) }
        for kernel in PackedMatrix.availableKernels {
        PackedMatrix.force(kernel)
        for (i, g) in geometries.enumerated() {
            let x = TestTensors.uniform([g.height * g.width], seed: UInt64(i)).data
            let w = TestTensors.uniform([g.kernelH * g.kernelW], seed: UInt64(100 + i)).data
            var out = [Float](repeating: .nan, count: g.outH * g.outW)
            var scratch = [Float](repeating: .nan, count: Im2Col.scratchCount(g))
            x.withUnsafeBufferPointer { xp in w.withUnsafeBufferPointer { wp in out.withUnsafeMutableBufferPointer { op in
                scratch.withUnsafeMutableBufferPointer { sp in
                    Conv2d.depthwisePlane(xp.baseAddress!, g, weights: wp.baseAddress!, into: op.baseAddress!, scratch: sp.baseAddress!)
                }
            } } }
            XCTAssertEqual(out.map(\.bitPattern), reference(x, g, w).map(\.bitPattern),
                           "\(kernel) geometry \(i): \(g.height)×\(g.width) stride \(g.strideW)")
        }
        }
    }
}
