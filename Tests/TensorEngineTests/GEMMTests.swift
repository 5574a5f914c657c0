import XCTest
@testable import TensorEngine

/// sgemm against a naive triple loop in Double, on odd, non-square sizes and every transpose.
final class GEMMTests: XCTestCase {
    func naive(_ a: [Float], _ b: [Float], m: Int, n: Int, k: Int, transA: Bool, transB: Bool,
               alpha: Float, beta: Float, c: [Float]) -> [Float] {
        var out = c
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k {
                    let av = transA ? a[p * m + i] : a[i * k + p]
                    let bv = transB ? b[j * k + p] : b[p * n + j]
                    s += Double(av) * Double(bv)
                }
                out[i * n + j] = Float(Double(alpha) * s + Double(beta) * Double(c[i * n + j]))
            }
        }
        return out
    }

    func testAllTransposesOnOddSizes() {
        var rng = SeededRNG(seed: 11)
        for (m, n, k) in [(1, 1, 1), (3, 5, 7), (17, 9, 33), (64, 31, 5), (129, 67, 250), (2, 300, 1)] {
            for transA in [false, true] {
                for transB in [false, true] {
                    let a = (0..<(m * k)).map { _ in rng.uniform(-1, 1) }
                    let b = (0..<(k * n)).map { _ in rng.uniform(-1, 1) }
                    let c0 = (0..<(m * n)).map { _ in rng.uniform(-1, 1) }
                    let (alpha, beta): (Float, Float) = (0.75, 0.5)
                    var c = c0
                    a.withUnsafeBufferPointer { pa in
                        b.withUnsafeBufferPointer { pb in
                            c.withUnsafeMutableBufferPointer { pc in
                                BLAS.sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                                           a: pa.baseAddress!, lda: transA ? m : k, b: pb.baseAddress!, ldb: transB ? k : n,
                                           beta: beta, c: pc.baseAddress!, ldc: n)
                            }
                        }
                    }
                    let want = naive(a, b, m: m, n: n, k: k, transA: transA, transB: transB, alpha: alpha, beta: beta, c: c0)
                    let worst = zip(c, want).map { abs($0 - $1) }.max()!
                    XCTAssertLessThan(worst, 1e-4 * Float(k).squareRoot() + 1e-5, "m\(m) n\(n) k\(k) tA\(transA) tB\(transB)")
                }
            }
        }
    }

    func testMatmulShapesAndStrides() {
        let a = Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5, 6])
        let b = Tensor(shape: [3, 2], data: [7, 8, 9, 10, 11, 12])
        XCTAssertEqual(BLAS.matmul(a, b).data, [58, 64, 139, 154])
        XCTAssertEqual(BLAS.matmul(a, a, transB: true).data, [14, 32, 32, 77])
        XCTAssertEqual(BLAS.matmul(a, a, transA: true).shape, [3, 3])
    }

    func testZeroInnerDimensionScalesByBeta() {
        var c: [Float] = [1, 2, 3, 4]
        let empty: [Float] = [0]
        empty.withUnsafeBufferPointer { p in
            c.withUnsafeMutableBufferPointer { pc in
                BLAS.sgemm(m: 2, n: 2, k: 0, a: p.baseAddress!, lda: 1, b: p.baseAddress!, ldb: 2, beta: 0.5, c: pc.baseAddress!, ldc: 2)
            }
        }
        XCTAssertEqual(c, [0.5, 1, 1.5, 2])
    }
}
