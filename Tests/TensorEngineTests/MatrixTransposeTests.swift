import XCTest
@testable import TensorEngine

/// `MatrixTranspose.sumTransposed` against the plain definition, bit for bit: every destination
/// element is its source elements summed in segment order, for shapes that are and are not
/// multiples of the tile, a single row or column, several segments with a gap between them,
/// and matrices large enough to run in parallel.
final class MatrixTransposeTests: XCTestCase {
    func reference(_ src: [Float], rows: Int, cols: Int, segments: Int, stride: Int) -> [Float] {
        var out = [Float](repeating: .nan, count: rows * cols)
        for r in 0..<rows {
            for c in 0..<cols {
                var v = src[r * cols + c]
                for s in 1..<max(segments, 1) { v += src[s * stride + r * cols + c] }
                out[c * rows + r] = v
            }
        }
        return out
    }

    func testMatchesTheDefinitionBitForBit() {
        var rng = SeededRNG(seed: 11)
        for (rows, cols, segments) in [(1, 1, 1), (1, 37, 1), (37, 1, 2), (32, 32, 1), (33, 65, 3), (100, 7, 4),
                                       (4608, 64, 2), (577, 512, 1), (64, 4608, 1)] {
            let stride = rows * cols + 5   // a gap between segments, as a weight gradient's bias part
            let src = (0..<(stride * (segments - 1) + rows * cols)).map { _ in rng.nextNormal() * 3 }
            var out = [Float](repeating: .nan, count: rows * cols)
            src.withUnsafeBufferPointer { s in
                out.withUnsafeMutableBufferPointer { o in
                    MatrixTranspose.sumTransposed(s.baseAddress!, rows: rows, cols: cols, segments: segments, segmentStride: stride, into: o.baseAddress!)
                }
            }
            let want = reference(src, rows: rows, cols: cols, segments: segments, stride: stride)
            XCTAssertEqual(out.map(\.bitPattern), want.map(\.bitPattern), "\(rows)×\(cols), \(segments) segments")
        }
    }
}
