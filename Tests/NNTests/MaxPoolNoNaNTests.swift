import Foundation
import TensorEngine
import TestSupport
import XCTest
@testable import NN

/// A plane without NaN (a fused ReLU's output) is pooled by `advlens_maxpool_plane`, 16
/// windows at a time where they lie inside the width: outputs and argmax must be those of the
/// general scan (`noNaN: false`, held to the window definition by `MaxPoolWindowTests`) bit for
/// bit, on every kernel, with ties (values on a coarse grid), planes of -inf, border and
/// interior windows, strides 1, 2 and 3, padding, dilation and a partial last window.
final class MaxPoolNoNaNTests: XCTestCase {
    func testNoNaNKernelGivesTheGeneralScansResults() {
        var geometries: [ConvGeometry] = []
        for (h, w) in [(9, 23), (16, 33), (7, 7), (12, 40), (5, 112)] {
            geometries.append(ConvGeometry(channels: 1, height: h, width: w, kernel: (3, 3), stride: (2, 2), padding: (1, 1)))
            geometries.append(ConvGeometry(channels: 1, height: h, width: w, kernel: (2, 2), stride: (2, 2), padding: (0, 0)))
            geometries.append(ConvGeometry(channels: 1, height: h, width: w, kernel: (3, 3), stride: (1, 1), padding: (1, 1)))
            geometries.append(ConvGeometry(channels: 1, height: h, width: w, kernel: (3, 3), stride: (2, 2), pads: (0, 0, 1, 1)))
        }
        geometries.append(ConvGeometry(channels: 1, height: 11, width: 37, kernel: (3, 3), stride: (1, 1), pads: (2, 2, 2, 2), dilation: (2, 2)))
        geometries.append(ConvGeometry(channels: 1, height: 10, width: 31, kernel: (3, 2), stride: (3, 3), pads: (1, 0, 1, 1)))
        defer { PackedMatrix.force(nil) }
        var rng = SeededRNG(seed: 5)
        for kernel in PackedMatrix.availableKernels {
            PackedMatrix.force(kernel)
            for (i, g) in geometries.enumerated() {
                let grid = (0..<(g.height * g.width)).map { _ in Float(Int(rng.uniform(0, 4))) / 4 }
                let lows = [Float](repeating: -.infinity, count: g.height * g.width)
                for (name, x) in [("grid", grid), ("-inf", lows)] {
                    func pool(noNaN: Bool) -> ([Float], [Int32]) {
                        var out = [Float](repeating: .nan, count: g.patches), at = [Int32](repeating: -7, count: g.patches)
                        x.withUnsafeBufferPointer { xp in out.withUnsafeMutableBufferPointer { op in at.withUnsafeMutableBufferPointer { ap in
                            MaxPool2d.poolPlane(xp.baseAddress!, g, into: op.baseAddress!, argmax: ap.baseAddress!, noNaN: noNaN)
                        } } }
                        return (out, at)
                    }
                    let (fast, fastAt) = pool(noNaN: true), (general, generalAt) = pool(noNaN: false)
                    XCTAssertEqual(fast.map(\.bitPattern), general.map(\.bitPattern), "\(kernel) geometry \(i) \(name): values")
                    XCTAssertEqual(fastAt, generalAt, "\(kernel) geometry \(i) \(name): argmax")
                }
            }
        }
    }
}
