import XCTest
@testable import TensorEngine

/// im2col + GEMM against a direct convolution loop, and col2im as its exact adjoint.
final class Im2ColTests: XCTestCase {
    let geometries: [ConvGeometry] = [
        ConvGeometry(channels: 1, height: 5, width: 5, kernel: (3, 3), stride: (1, 1), padding: (0, 0)),
        ConvGeometry(channels: 2, height: 7, width: 6, kernel: (3, 2), stride: (2, 1), padding: (1, 0)),
        ConvGeometry(channels: 3, height: 8, width: 9, kernel: (5, 5), stride: (1, 1), padding: (2, 2)),
        ConvGeometry(channels: 2, height: 9, width: 7, kernel: (3, 3), stride: (2, 3), padding: (1, 2)),
        ConvGeometry(channels: 1, height: 4, width: 4, kernel: (1, 1), stride: (2, 2), padding: (0, 0)),
    ]

    func input(_ g: ConvGeometry, seed: UInt64) -> [Float] {
        var rng = SeededRNG(seed: seed)
        return (0..<(g.channels * g.height * g.width)).map { _ in rng.uniform(-1, 1) }
    }

    func pixel(_ x: [Float], _ g: ConvGeometry, _ c: Int, _ iy: Int, _ ix: Int) -> Float {
        (iy < 0 || iy >= g.height || ix < 0 || ix >= g.width) ? 0 : x[(c * g.height + iy) * g.width + ix]
    }

    func testUnfoldMatchesDirectIndexing() {
        for (gi, g) in geometries.enumerated() {
            let x = input(g, seed: UInt64(gi))
            let ld = g.patches + 3   // a wider row stride, as when images sit side by side
            var col = [Float](repeating: .nan, count: g.columnRows * ld)
            x.withUnsafeBufferPointer { xp in col.withUnsafeMutableBufferPointer { cp in
                Im2Col.unfold(xp.baseAddress!, g, into: cp.baseAddress!, ldcol: ld)
            } }
            for c in 0..<g.channels { for ki in 0..<g.kernelH { for kj in 0..<g.kernelW {
                let row = (c * g.kernelH + ki) * g.kernelW + kj
                for oy in 0..<g.outH { for ox in 0..<g.outW {
                    let want = pixel(x, g, c, oy * g.strideH - g.padH + ki, ox * g.strideW - g.padW + kj)
                    XCTAssertEqual(col[row * ld + oy * g.outW + ox], want, "geometry \(gi) row \(row) at \(oy),\(ox)")
                } }
                for extra in g.patches..<ld { XCTAssertTrue(col[row * ld + extra].isNaN, "wrote past the patches") }
            } } }
        }
    }

    /// <unfold(x), y> = <x, fold(y)> for all x, y: fold is unfold's transpose.
    func testFoldIsTheAdjointOfUnfold() {
        for (gi, g) in geometries.enumerated() {
            let x = input(g, seed: 100 + UInt64(gi))
            var rng = SeededRNG(seed: 200 + UInt64(gi))
            let y = (0..<(g.columnRows * g.patches)).map { _ in rng.uniform(-1, 1) }
            var col = [Float](repeating: 0, count: y.count)
            var folded = [Float](repeating: 0, count: x.count)
            x.withUnsafeBufferPointer { xp in col.withUnsafeMutableBufferPointer { cp in
                Im2Col.unfold(xp.baseAddress!, g, into: cp.baseAddress!, ldcol: g.patches)
            } }
            y.withUnsafeBufferPointer { yp in folded.withUnsafeMutableBufferPointer { fp in
                Im2Col.fold(yp.baseAddress!, ldcol: g.patches, g, into: fp.baseAddress!)
            } }
            let lhs = zip(col, y).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            let rhs = zip(x, folded).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            XCTAssertEqual(lhs, rhs, accuracy: 1e-4, "geometry \(gi)")
        }
    }

    func testOutputSize() {
        let g = ConvGeometry(channels: 1, height: 28, width: 28, kernel: (5, 5), stride: (1, 1), padding: (2, 2))
        XCTAssertEqual([g.outH, g.outW], [28, 28])
        XCTAssertFalse(ConvGeometry(channels: 1, height: 2, width: 2, kernel: (3, 3), stride: (1, 1), padding: (0, 0)).isValid)
        XCTAssertFalse(ConvGeometry(channels: 1, height: 8, width: 8, kernel: (9, 9), stride: (9, 9), padding: (0, 0)).isValid)
    }
}
