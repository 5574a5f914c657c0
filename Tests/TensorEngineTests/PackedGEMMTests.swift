import XCTest
@testable import TensorEngine

/// AdvLens' own GEMM (`PackedMatrix`, Sources/CGEMM) promises one rounding per element: a fused
/// multiply-add chain over k from zero, then alpha, then beta·C. These tests hold every element
/// to that chain computed here in Swift, bit for bit, on odd shapes (partial row tiles, partial
/// panels), both storage orders of B, the alpha/beta cases, every kernel the CPU runs (AVX-512,
/// AVX2, portable), and split products.
final class PackedGEMMTests: XCTestCase {
    override func tearDown() { PackedMatrix.force(nil) }

    /// The contract, element by element.
    func reference(m: Int, n: Int, k: Int, alpha: Float, a: [Float], b: [Float], transB: Bool, beta: Float, c: [Float]) -> [Float] {
        var out = c
        for i in 0..<m {
            for j in 0..<n {
                var acc: Float = 0
                for p in 0..<k { acc = acc.addingProduct(a[i * k + p], transB ? b[j * k + p] : b[p * n + j]) }
                var x = acc
                if alpha != 1 { x = x * alpha }
                if beta != 0 {
                    var y = c[i * n + j]
                    if beta != 1 { y = y * beta }
                    x = x + y
                }
                out[i * n + j] = x
            }
        }
        return out
    }

    func product(m: Int, n: Int, k: Int, alpha: Float, a: [Float], b: [Float], transB: Bool, beta: Float, c: [Float]) -> [Float] {
        var out = c
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                out.withUnsafeMutableBufferPointer { pc in
                    let packed = PackedMatrix(transposed: transB, k: k, n: n, b: pb.baseAddress!, ldb: transB ? k : n)
                    packed.multiply(m: m, alpha: alpha, a: pa.baseAddress!, lda: k, beta: beta, c: pc.baseAddress!, ldc: n)
                }
            }
        }
        return out
    }

    func testEveryElementIsOneFusedChainOnBothKernels() {
        var rng = SeededRNG(seed: 7)
        // Rows 1-4 alone and as the last rows after whole 12-row tiles (AVX-512's few-row tiles,
        // four panels at a time and one at a time, a partial last panel) and beside them; whole
        // tiles two panels at a time.
        let shapes = [(1, 1, 1), (5, 3, 7), (6, 16, 9), (7, 17, 33), (13, 40, 100), (25, 129, 64), (64, 10, 300),
                      (2, 70, 19), (3, 64, 5), (4, 65, 33), (1, 200, 40), (16, 100, 17), (27, 33, 8), (28, 80, 3),
                      // AVX-512's two-panel tiles: a pair and a lone last panel, a pair ending in a
                      // partial panel, padded last rows (8, 6) beside whole tiles.
                      (12, 48, 20), (20, 50, 31), (30, 33, 9), (36, 64, 12)]
        let scalings: [(Float, Float)] = [(1, 0), (1, 1), (0.5, 0), (0.5, 1), (1, -2), (-1.5, 0.25)]
        XCTAssertTrue(PackedMatrix.availableKernels.contains(.portable))
        for kernel in PackedMatrix.availableKernels {
            PackedMatrix.force(kernel)
            for (m, n, k) in shapes {
                let a = (0..<(m * k)).map { _ in rng.uniform(-1, 1) }
                let b = (0..<(k * n)).map { _ in rng.uniform(-1, 1) }
                let c = (0..<(m * n)).map { _ in rng.uniform(-1, 1) }
                for transB in [false, true] {
                    for (alpha, beta) in scalings {
                        let want = reference(m: m, n: n, k: k, alpha: alpha, a: a, b: b, transB: transB, beta: beta, c: c)
                        let got = product(m: m, n: n, k: k, alpha: alpha, a: a, b: b, transB: transB, beta: beta, c: c)
                        XCTAssertEqual(got.map(\.bitPattern), want.map(\.bitPattern),
                                       "\(kernel) m\(m) n\(n) k\(k) transB \(transB) alpha \(alpha) beta \(beta)")
                    }
                }
            }
        }
    }

    /// `multiplyRows` reads B's whole panels in place from a row-major B with a row stride
    /// wider than n (a plane inside a larger tensor) and packs only a partial last one: the
    /// same chain per element as the packed product, on every kernel, split between the cores
    /// or not, and nothing read past the last row's n columns (NaN there would reach C).
    func testRowMajorProductsGiveThePackedBits() {
        var rng = SeededRNG(seed: 13)
        let shapes = [(1, 16, 3), (5, 17, 7), (12, 32, 9), (13, 40, 100), (20, 50, 31), (28, 196, 24), (30, 33, 9), (4, 65, 33),
                      (45, 1030, 200)]   // split between the cores, the last task's panel partial
        let scalings: [(Float, Float)] = [(1, 0), (0.5, 1), (-1.5, 0.25)]
        defer { PackedMatrix.force(nil) }
        for kernel in PackedMatrix.availableKernels {
            PackedMatrix.force(kernel)
            for (m, n, k) in shapes {
                let ldb = n + 3
                let a = (0..<(m * k)).map { _ in rng.uniform(-1, 1) }
                var b = (0..<(k * ldb)).map { _ in rng.uniform(-1, 1) }
                for p in 0..<k { for j in n..<ldb { b[p * ldb + j] = .nan } }
                let dense = (0..<(k * n)).map { b[($0 / n) * ldb + $0 % n] }
                let c = (0..<(m * n)).map { _ in rng.uniform(-1, 1) }
                for (alpha, beta) in scalings {
                    let want = reference(m: m, n: n, k: k, alpha: alpha, a: a, b: dense, transB: false, beta: beta, c: c)
                    var got = c
                    var scratch = [Float](repeating: .nan, count: PackedMatrix.scratchCount(k: k))
                    var panel = [Float](repeating: .nan, count: PackedMatrix.panelWidth * k)
                    a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in got.withUnsafeMutableBufferPointer { pc in
                        scratch.withUnsafeMutableBufferPointer { ps in panel.withUnsafeMutableBufferPointer { pp in
                            PackedMatrix.multiplyRows(m: m, n: n, k: k, alpha: alpha, a: pa.baseAddress!, lda: k, b: pb.baseAddress!, ldb: ldb,
                                                      beta: beta, c: pc.baseAddress!, ldc: n, scratch: ps.baseAddress!, panel: pp.baseAddress!)
                        } }
                    } } }
                    XCTAssertEqual(got.map(\.bitPattern), want.map(\.bitPattern), "\(kernel) m\(m) n\(n) k\(k) alpha \(alpha) beta \(beta)")
                }
            }
        }
    }

    func testBetaZeroDoesNotReadC() {
        let (m, n, k) = (7, 20, 5)
        let a = [Float](repeating: 1, count: m * k), b = [Float](repeating: 2, count: k * n)
        let c = [Float](repeating: .nan, count: m * n)
        let got = product(m: m, n: n, k: k, alpha: 1, a: a, b: b, transB: false, beta: 0, c: c)
        XCTAssertEqual(got, [Float](repeating: 10, count: m * n))
    }

    /// A large product is split between threads (and runs whole inside a parallel region):
    /// the split must not change a bit, and neither must the kernel.
    func testSplitAndRegionAndKernelGiveTheSameBits() {
        var rng = SeededRNG(seed: 11)
        let (m, n, k) = (45, 1024, 200)
        let a = (0..<(m * k)).map { _ in rng.uniform(-1, 1) }
        let b = (0..<(k * n)).map { _ in rng.uniform(-0.1, 0.1) }
        let c = [Float](repeating: 0.5, count: m * n)
        let split = product(m: m, n: n, k: k, alpha: 1, a: a, b: b, transB: true, beta: 1, c: c)
        var inside: [Float] = []
        Parallel.forEachTask(2) { t, _ in
            if t == 0 { inside = self.product(m: m, n: n, k: k, alpha: 1, a: a, b: b, transB: true, beta: 1, c: c) }
        }
        XCTAssertEqual(split.map(\.bitPattern), inside.map(\.bitPattern))
        for kernel in PackedMatrix.availableKernels {
            PackedMatrix.force(kernel)
            let other = product(m: m, n: n, k: k, alpha: 1, a: a, b: b, transB: true, beta: 1, c: c)
            XCTAssertEqual(split.map(\.bitPattern), other.map(\.bitPattern), "\(kernel)")
        }
    }
}
