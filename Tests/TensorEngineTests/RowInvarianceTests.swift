import XCTest
@testable import TensorEngine

/// Issue 19, item 4: a sample's row of a product must not depend on the batch it came in.
/// Each test computes rows of the MNIST models' products (mnist-small's 512→128 and 128→10,
/// mnist-madry's 3136→1024 and 1024→10, forward and input gradient) alone, in batches of 37
/// and 112, and at every offset, and compares them with the same rows inside a batch of 200.
final class RowInvarianceTests: XCTestCase {
    /// (n, k, transB): forward products x·Wᵀ (transB) and input gradients dy·W.
    let shapes: [(Int, Int, Bool)] = [(128, 512, true), (10, 128, true), (1024, 3136, true), (10, 1024, true),
                                       (512, 128, false), (128, 10, false), (3136, 1024, false), (1024, 10, false),
                                       (1, 64, true), (64, 1, false)]

    typealias Product = (_ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ a: UnsafePointer<Float>,
                         _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>) -> Void

    /// Rows `rows` of a product computed on their own, as the rows of a batch of 200.
    func rows(_ product: Product, _ a: [Float], _ b: [Float], _ bias: [Float], rows: Range<Int>, n: Int, k: Int, transB: Bool) -> [Float] {
        var c = [Float](repeating: 0, count: rows.count * n)
        for r in 0..<rows.count { for j in 0..<n { c[r * n + j] = bias[j] } }
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    product(transB, rows.count, n, k, pa.baseAddress! + rows.lowerBound * k, pb.baseAddress!, pc.baseAddress!)
                }
            }
        }
        return c
    }

    /// How many rows of batches of 1, 2, 7, 37 and 112 (at several offsets) differ from the
    /// same rows of one 200-row product, over every shape; and the rows compared.
    func differingRows(_ product: Product) -> (differ: Int, compared: Int, report: String) {
        var rng = SeededRNG(seed: 19)
        var differ = 0, compared = 0, report = ""
        for (n, k, transB) in shapes {
            let a = (0..<(200 * k)).map { _ in rng.uniform(-1, 1) }
            let b = (0..<(n * k)).map { _ in rng.uniform(-0.1, 0.1) }
            let bias = (0..<n).map { _ in rng.uniform(-1, 1) }
            let whole = rows(product, a, b, bias, rows: 0..<200, n: n, k: k, transB: transB)
            var bad = 0, seen = 0
            for size in [1, 2, 7, 37, 112] {
                for start in stride(from: size < 8 ? 13 : 0, through: 200 - size, by: size < 8 ? 41 : 51) {
                    let part = rows(product, a, b, bias, rows: start..<start + size, n: n, k: k, transB: transB)
                    for r in 0..<size {
                        seen += 1
                        if part[r * n..<(r + 1) * n] != whole[(start + r) * n..<(start + r + 1) * n] { bad += 1 }
                    }
                }
            }
            differ += bad
            compared += seen
            report += " \(transB ? "x·Wᵀ" : "dy·W") n\(n) k\(k): \(bad)/\(seen);"
        }
        return (differ, compared, report)
    }

    /// The source: OpenBLAS's product rounds a row by how many rows share it (GEMV for one
    /// row, small-matrix kernels by size, kernels by position). Shown, not asserted: which rows
    /// differ depends on the CPU's kernel; on this machine's Haswell and SkylakeX kernels many do.
    func testPlainProductRowsDependOnTheBatch() {
        let plain = differingRows { transB, m, n, k, a, b, c in
            BLAS.sgemm(transB: transB, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: transB ? k : n, beta: 1, c: c, ldc: n)
        }
        print("RowInvarianceTests: BLAS.sgemm (\(BLAS.coreName)): rows differing from a 200-row product:\(plain.report)")
    }

    /// The fix: on AdvLens' own GEMM (`BLAS.sgemmRows`) every row equals its row in the 200-row product, bit for bit.
    func testRowTiledProductRowsDoNotDependOnTheBatch() {
        for threads in [1, 2] {
            let saved = BLAS.threads
            BLAS.setThreads(threads)
            defer { BLAS.setThreads(saved) }
            let tiled = differingRows { transB, m, n, k, a, b, c in
                BLAS.sgemmRows(transB: transB, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: transB ? k : n, beta: 1, c: c, ldc: n)
            }
            XCTAssertGreaterThan(tiled.compared, 1000)
            XCTAssertEqual(tiled.differ, 0, "\(threads) threads, \(BLAS.coreName):\(tiled.report)")
        }
    }

    /// Inside a parallel region (a batch's per-image tasks) and outside it (one image) a large
    /// product splits into the same blocks, so an element is rounded the same way.
    func testLargeProductRoundsTheSameInsideARegion() {
        var rng = SeededRNG(seed: 5)
        let (m, n, k) = (64, 196, 800)   // mnist-madry's second convolution, one image
        let a = (0..<(m * k)).map { _ in rng.uniform(-1, 1) }, b = (0..<(k * n)).map { _ in rng.uniform(-1, 1) }
        func product() -> [Float] {
            var c = [Float](repeating: 0, count: m * n)
            a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in c.withUnsafeMutableBufferPointer { pc in
                BLAS.sgemm(m: m, n: n, k: k, a: pa.baseAddress!, lda: k, b: pb.baseAddress!, ldb: n, c: pc.baseAddress!, ldc: n)
            } } }
            return c
        }
        let outside = product()
        var inside: [[Float]] = [[], []]
        let saved = BLAS.threads
        BLAS.setThreads(2)
        defer { BLAS.setThreads(saved) }
        Parallel.forEachTask(2) { t, _ in
            XCTAssertTrue(Parallel.isInsideRegion)
            inside[t] = product()
        }
        XCTAssertTrue(inside[0] == outside && inside[1] == outside)
    }

    func testRowTiledProductMatchesThePlainOneInValue() {
        var rng = SeededRNG(seed: 3)
        for (m, n, k, transB) in [(1, 5, 3, true), (13, 9, 33, false), (37, 300, 70, true), (9, 1, 4, false)] {
            let a = (0..<(m * k)).map { _ in rng.uniform(-1, 1) }, b = (0..<(k * n)).map { _ in rng.uniform(-1, 1) }
            let c0 = (0..<(m * n)).map { _ in rng.uniform(-1, 1) }
            var plain = c0, tiled = c0
            a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in
                plain.withUnsafeMutableBufferPointer { pc in
                    BLAS.sgemm(transB: transB, m: m, n: n, k: k, alpha: 0.5, a: pa.baseAddress!, lda: k, b: pb.baseAddress!,
                               ldb: transB ? k : n, beta: 0.25, c: pc.baseAddress!, ldc: n)
                }
                tiled.withUnsafeMutableBufferPointer { pc in
                    BLAS.sgemmRows(transB: transB, m: m, n: n, k: k, alpha: 0.5, a: pa.baseAddress!, lda: k, b: pb.baseAddress!,
                                   ldb: transB ? k : n, beta: 0.25, c: pc.baseAddress!, ldc: n)
                }
            } }
            let worst = zip(plain, tiled).map { abs($0 - $1) }.max()!
            XCTAssertLessThan(worst, 1e-5 * Float(k).squareRoot(), "m\(m) n\(n) k\(k)")
        }
    }
}
