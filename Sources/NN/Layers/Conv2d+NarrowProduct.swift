import Foundation
import TensorEngine

/// A convolution's products with very few columns (one image on a small plane: ResNet-18's
/// layer3 and layer4 at a 32×32 input have 4 and 1 output positions), taken the
/// other way round: the forward's Cᵀ [columns, Og] = colsᵀ · Wᵀ against the filters packed
/// transposed, instead of C [Og, columns] = W · cols against one 16-column panel, and the
/// input gradient's colᵀ = dYᵀ · W against the filters packed as stored (per live tap for
/// tap classes).
///
/// Why: the GEMM's tiles are 16 columns wide, so a 1-column product computed 16 columns to
/// keep one; with the output channels as the tiles' columns and the few image columns as
/// its rows it runs on the few-row tiles (`gemm.c`) and wastes nothing. The bits are the same:
/// each element is one fused multiply-add chain over the same taps in the same order from
/// zero, and fma's two factors commute.
extension Conv2d {
    /// Most columns a product may have to be taken the other way round.
    static let narrowColumns = 4

    /// Test hook: products never taken the other way round (tests compare the two).
    static var forceWideProducts = false
    /// Test hook: products taken the other way round so far, so a test sees the path was taken.
    static let narrowCalls = CallCounter()

    /// Whether a product of `columns` columns is taken the other way round.
    static func isNarrow(_ columns: Int) -> Bool { !forceWideProducts && columns <= narrowColumns }

    /// The filters packed per group, group after group: transposed (k = K, n = Og: Wᵀ, the
    /// forward's right-hand side) or as stored (k = Og, n = K: W, the dense input gradient's,
    /// colᵀ = dYᵀ·W). Kept with the weight until it changes.
    func narrowFilters(transposed: Bool) -> [Float] {
        let (O, G) = (outChannels, groups)
        let Og = O / G, K = weight.value.count / O
        let (k, n) = transposed ? (K, Og) : (Og, K)
        return weight.derived(transposed ? "narrow dense" : "narrow inputGradient dense") { w in
            var out = [Float](repeating: 0, count: G * PackedMatrix.packedCount(k: k, n: n))
            w.data.withUnsafeBufferPointer { wp in
                out.withUnsafeMutableBufferPointer { o in
                    for gi in 0..<G {
                        PackedMatrix.pack(transposed: transposed, k: k, n: n, b: wp.baseAddress! + gi * Og * K, ldb: K,
                                          into: o.baseAddress! + gi * PackedMatrix.packedCount(k: k, n: n))
                    }
                }
            }
            return out
        }
    }

    /// The tap classes' gathered filters (`classWeights`) packed the same way: class after
    /// class, in each group after group.
    func narrowClassFilters(_ taps: TapClasses, classWeights: [Float]) -> [Float] {
        let g = taps.geometry, (G, Og) = (groups, outChannels / groups)
        return weight.derived("narrow tapClasses \(g.height)x\(g.width)") { _ in
            var out = [Float](repeating: 0, count: taps.classes.reduce(0) { $0 + G * PackedMatrix.packedCount(k: max(1, g.channels * $1.taps), n: Og) })
            classWeights.withUnsafeBufferPointer { cw in
                out.withUnsafeMutableBufferPointer { o in
                    var (from, to) = (0, 0)
                    for k in taps.classes {
                        let rows = g.channels * k.taps, count = PackedMatrix.packedCount(k: max(1, rows), n: Og)
                        if rows > 0 {
                            for gi in 0..<G {
                                PackedMatrix.pack(transposed: true, k: rows, n: Og, b: cw.baseAddress! + from + gi * Og * rows, ldb: rows,
                                                  into: o.baseAddress! + to + gi * count)
                            }
                        }
                        from += outChannels * rows
                        to += G * count
                    }
                }
            }
            return out
        }
    }

    /// Floats of each scratch `narrowProduct` takes for a layer of `K` column rows.
    static func narrowScratchCount(columnRows K: Int, outChannels O: Int) -> Int { narrowColumns * max(K, O) }

    /// For each tap (kh·kw of them) and in it each group, the tap's filter values W[o, c, tap]
    /// as an [Og, C] matrix packed (k = Og, n = C): the right-hand sides of the tap classes'
    /// narrow input-gradient products, one per live tap. Block (tap, group) starts at
    /// (tap·groups + group)·`packedCount(k: Og, n: C)`.
    func narrowTapFilters(channels C: Int, taps KK: Int) -> [Float] {
        let (O, G) = (outChannels, groups)
        let Og = O / G, count = PackedMatrix.packedCount(k: Og, n: C)
        return weight.derived("narrow inputGradient taps") { w in
            var out = [Float](repeating: 0, count: KK * G * count)
            var tapMatrix = [Float](repeating: 0, count: Og * C)
            w.data.withUnsafeBufferPointer { wp in
                out.withUnsafeMutableBufferPointer { o in
                    for tap in 0..<KK {
                        for gi in 0..<G {
                            for r in 0..<Og {
                                for c in 0..<C { tapMatrix[r * C + c] = wp[((gi * Og + r) * C + c) * KK + tap] }
                            }
                            tapMatrix.withUnsafeBufferPointer { t in
                                PackedMatrix.pack(transposed: false, k: Og, n: C, b: t.baseAddress!, ldb: C,
                                                  into: o.baseAddress! + (tap * G + gi) * count)
                            }
                        }
                    }
                }
            }
            return out
        }
    }

    /// C [n, columns] (row stride `ldc`) = Mᵀ · B, where B [k, columns] has row stride `ldb`
    /// (columns ≤ `narrowColumns`; a packed panel is such a matrix with `ldb` 16) and
    /// `filters` is M [k, n] packed: B's columns become the rows of A (`a`), Cᵀ = Bᵀ·M is
    /// computed into `cT` (or straight into `c` for one column) and turned back. The forward
    /// product has M = Wᵀ, the input gradient's M = W (or a tap's slice of it).
    static func narrowProduct(k: Int, n: Int, columns: Int, b: UnsafePointer<Float>, ldb: Int, filters: UnsafePointer<Float>,
                              a: UnsafeMutablePointer<Float>, cT: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                              into c: UnsafeMutablePointer<Float>, ldc: Int) {
        narrowCalls.record()
        for j in 0..<columns {
            let row = a + j * k
            for p in 0..<k { row[p] = b[p * ldb + j] }
        }
        if columns == 1 && ldc == 1 {
            PackedMatrix.multiply(m: 1, n: n, k: k, a: a, lda: k, packed: filters, c: c, ldc: n, scratch: scratch)
            return
        }
        PackedMatrix.multiply(m: columns, n: n, k: k, a: a, lda: k, packed: filters, c: cT, ldc: n, scratch: scratch)
        for x in 0..<n {
            for j in 0..<columns { c[x * ldc + j] = cT[j * n + x] }
        }
    }
}
