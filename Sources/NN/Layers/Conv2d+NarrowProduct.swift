import Foundation
import TensorEngine

/// A convolution's forward product with very few columns (one image on a small plane:
/// ResNet-18's layer3 and layer4 at a 32×32 input have 1-4 output positions per tap class),
/// taken the other way round: Cᵀ [columns, Og] = colsᵀ · Wᵀ against the filters packed
/// transposed, instead of C [Og, columns] = W · cols against one 16-column panel.
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

    /// The filters' Wᵀ packed for the narrow products, group after group
    /// (`packedCount(k: K, n: Og)` floats each): kept with the weight until it changes.
    func narrowFilters() -> [Float] {
        let (O, G) = (outChannels, groups)
        let Og = O / G, K = weight.value.count / O
        return weight.derived("narrow dense") { w in
            var out = [Float](repeating: 0, count: G * PackedMatrix.packedCount(k: K, n: Og))
            w.data.withUnsafeBufferPointer { wp in
                out.withUnsafeMutableBufferPointer { o in
                    for gi in 0..<G {
                        PackedMatrix.pack(transposed: true, k: K, n: Og, b: wp.baseAddress! + gi * Og * K, ldb: K,
                                          into: o.baseAddress! + gi * PackedMatrix.packedCount(k: K, n: Og))
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

    /// C [Og, columns] (row stride `ldc`) = W · B, where B [rows, columns] is the one packed
    /// panel `panel` (columns ≤ `narrowColumns`) and `filters` is W [Og, rows] packed
    /// transposed: B's columns become the rows of A (`a`), Cᵀ is computed into `cT` (or
    /// straight into `c` for one column) and turned back.
    static func narrowProduct(rows: Int, og: Int, columns: Int, panel: UnsafePointer<Float>, filters: UnsafePointer<Float>,
                              a: UnsafeMutablePointer<Float>, cT: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                              into c: UnsafeMutablePointer<Float>, ldc: Int) {
        let width = PackedMatrix.panelWidth
        narrowCalls.record()
        for j in 0..<columns {
            let row = a + j * rows
            for p in 0..<rows { row[p] = panel[p * width + j] }
        }
        if columns == 1 && ldc == 1 {
            PackedMatrix.multiply(m: 1, n: og, k: rows, a: a, lda: rows, packed: filters, c: c, ldc: og, scratch: scratch)
            return
        }
        PackedMatrix.multiply(m: columns, n: og, k: rows, a: a, lda: rows, packed: filters, c: cT, ldc: og, scratch: scratch)
        for o in 0..<og {
            for j in 0..<columns { c[o * ldc + j] = cT[j * og + o] }
        }
    }
}

/// A count of calls under a lock (a test hook: tests read it before and after a call).
final class CallCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0

    func record() { lock.withLock { count += 1 } }

    var current: Int { lock.withLock { count } }
}
