import XCTest
@testable import TensorEngine

/// A product given an `Epilogue` (a convolution's bias and activation, applied as the GEMM
/// stores) must hold the bits of the product without one followed by `Epilogue.apply` on every
/// element: on every kernel, packed and row-major B, partial row tiles (AVX-512's few-row tiles
/// and padded rows) and partial panels, products split between the cores, with and without a
/// bias (an absent one adds +0, turning -0 into +0), and values the activations treat apart:
/// NaN, -0, and values on, above and below the clamp's bounds.
final class GEMMEpilogueTests: XCTestCase {
    override func tearDown() { PackedMatrix.force(nil) }

    let activations: [Epilogue.Activation] = [.none, .relu, .clamp(low: 0, high: 6), .clamp(low: -0.5, high: 0.25)]

    /// A with rows that make the values the activations treat apart: row 0 all zeros (with alpha
    /// -1 every product is -0), row 1 a NaN, row 2 exactly 6 in column 0 (B's row 0 is all ones
    /// there), the rest random and scaled past the bounds.
    func operands(m: Int, n: Int, k: Int, seed: UInt64) -> (a: [Float], b: [Float]) {
        var rng = SeededRNG(seed: seed)
        var a = (0..<(m * k)).map { _ in rng.uniform(-4, 4) }
        var b = (0..<(k * n)).map { _ in rng.uniform(-1, 1) }
        for p in 0..<k { a[p] = 0 }
        if m > 1 { a[k] = .nan }
        if m > 2 { for p in 0..<k { a[2 * k + p] = p == 0 ? 6 : 0 } }
        for j in 0..<n { b[j] = 1 }
        return (a, b)
    }

    /// C = alpha·A·B (B k×n row-major) with `epilogue`, through `multiply` (B packed) or
    /// `multiplyRows` (B read in place).
    func product(m: Int, n: Int, k: Int, alpha: Float, a: [Float], b: [Float], rows: Bool, epilogue: Epilogue?) -> [Float] {
        var c = [Float](repeating: .nan, count: m * n)
        var scratch = [Float](repeating: .nan, count: PackedMatrix.scratchCount(k: k))
        var packed = [Float](repeating: .nan, count: PackedMatrix.packedCount(k: k, n: n))
        var panel = [Float](repeating: .nan, count: PackedMatrix.panelWidth * k)
        a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in c.withUnsafeMutableBufferPointer { pc in
            scratch.withUnsafeMutableBufferPointer { ps in packed.withUnsafeMutableBufferPointer { pk in
                panel.withUnsafeMutableBufferPointer { pp in
                    if rows {
                        PackedMatrix.multiplyRows(m: m, n: n, k: k, alpha: alpha, a: pa.baseAddress!, lda: k, b: pb.baseAddress!, ldb: n,
                                                  c: pc.baseAddress!, ldc: n, scratch: ps.baseAddress!, panel: pp.baseAddress!,
                                                  epilogue: epilogue)
                    } else {
                        PackedMatrix.pack(transposed: false, k: k, n: n, b: pb.baseAddress!, ldb: n, into: pk.baseAddress!)
                        PackedMatrix.multiply(m: m, n: n, k: k, alpha: alpha, a: pa.baseAddress!, lda: k, packed: pk.baseAddress!,
                                              c: pc.baseAddress!, ldc: n, scratch: ps.baseAddress!, epilogue: epilogue)
                    }
                }
            } }
        } } }
        return c
    }

    func testTheEpilogueIsTheSeparatePassBitForBit() {
        // (m, n, k): few-row tiles alone and after whole tiles, padded last rows, partial
        // panels, two-panel tiles, and products large enough to be split between the cores.
        let shapes = [(3, 17, 5), (13, 40, 9), (16, 33, 12), (30, 64, 7), (4, 65, 3), (48, 576, 144), (20, 1000, 120)]
        for kernel in PackedMatrix.availableKernels {
            PackedMatrix.force(kernel)
            for (s, (m, n, k)) in shapes.enumerated() {
                let (a, b) = operands(m: m, n: n, k: k, seed: UInt64(s))
                var rng = SeededRNG(seed: 100 + UInt64(s))
                let bias = (0..<m).map { i in i == 3 ? -6 : rng.uniform(-3, 3) }
                for alpha: Float in [1, -1] {
                    let plain = product(m: m, n: n, k: k, alpha: alpha, a: a, b: b, rows: false, epilogue: nil)
                    if alpha == -1 { XCTAssertTrue(plain.contains { $0 == 0 && $0.sign == .minus }, "-0 is among the values") }
                    for activation in activations {
                        for withBias in [false, true] {
                            let want = (0..<(m * n)).map { Epilogue.apply(plain[$0], bias: withBias ? bias[$0 / n] : 0, activation) }
                            bias.withUnsafeBufferPointer { pb in
                                let e = Epilogue(bias: withBias ? pb.baseAddress! : nil, activation: activation)
                                for rows in [false, true] {
                                    let got = product(m: m, n: n, k: k, alpha: alpha, a: a, b: b, rows: rows, epilogue: e)
                                    let differing = zip(got, want).filter { $0.bitPattern != $1.bitPattern }.count
                                    XCTAssertEqual(differing, 0, "\(kernel) m\(m) n\(n) k\(k) alpha \(alpha) \(activation) bias \(withBias) rows \(rows)")
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The reference itself: what the convolution's separate pass computes.
    func testApplyIsTheConvolutionPassExpressions() {
        XCTAssertEqual(Epilogue.apply(-0.0, bias: 0, .none).sign, .plus)
        XCTAssertEqual(Epilogue.apply(.nan, bias: 1, .relu), 0)
        XCTAssertTrue(Epilogue.apply(.nan, bias: 1, .clamp(low: 0, high: 6)).isNaN)
        XCTAssertEqual(Epilogue.apply(7, bias: -0.5, .clamp(low: 0, high: 6)), 6)
        XCTAssertEqual(Epilogue.apply(-1, bias: 0.5, .clamp(low: 0, high: 6)), 0)
        XCTAssertEqual(Epilogue.apply(2, bias: 0.5, .relu), 2.5)
    }
}
