import Foundation
import TensorEngine

/// The convolution's products per tap class (`TapClasses`) on planes where most of the kernel
/// falls into the padding (ResNet-18's later stages at a 32×32 input): the forward product and
/// the input gradient's product Wᵀ·dY skip the dead taps and give the dense products' bits.
/// The weight gradient keeps the dense product (skipping terms there would change the order of
/// its sums over positions).
extension Conv2d {
    /// Test hook: every convolution takes the dense products (tests compare the two paths).
    static var forceDenseTaps = false
    /// Test hook: calls that took the class products, so a test sees the path was taken.
    static let tapClassCalls = TapClassCalls()

    /// The tap classes of `g` when this layer's products of `images` images each run per
    /// class, else nil (depthwise layers have their own kernel; see `TapClasses.worthwhile`
    /// for the rule).
    func tapClasses(_ g: ConvGeometry, images: Int) -> TapClasses? {
        guard !isDepthwise, !Conv2d.forceDenseTaps else { return nil }
        return TapClasses.worthwhile(g, images: images)
    }

    /// The filters gathered per class: class m's block [outChannels, C·T_m] (rows by output
    /// channel, so group gi's rows start at gi·Og; columns the live (c, ki, kj) in the dense
    /// order), blocks one after another. `value` (a trace's saved weight) is gathered for this
    /// call unless it is the layer's own weight, whose gathering is kept until it changes.
    func classWeights(_ taps: TapClasses, value: Tensor?) -> [Float] {
        // Written in place, output channels in parallel: appended one float at a time, the
        // gathering after every training step took 10 ms of a ResNet-18-32 step on one core.
        func gather(_ w: Tensor) -> [Float] {
            let g = taps.geometry, (C, kh, kw, O) = (g.channels, g.kernelH, g.kernelW, outChannels)
            var starts: [Int] = [], total = 0
            for k in taps.classes { starts.append(total); total += O * C * k.taps }
            guard total > 0 else { return [] }
            var out = uninitialized(total)
            w.data.withUnsafeBufferPointer { wp in
                out.withUnsafeMutableBufferPointer { ob in
                    let (src, dst) = (wp.baseAddress!, ob.baseAddress!)
                    Parallel.forRanges(O, grain: max(1, 65_536 / max(1, C * kh * kw))) { range in
                        for (m, k) in taps.classes.enumerated() {
                            for o in range {
                                var q = dst + starts[m] + o * C * k.taps
                                for c in 0..<C {
                                    let filter = src + (o * C + c) * kh * kw
                                    for ki in k.kernelRows {
                                        for kj in k.kernelColumns { q.pointee = filter[ki * kw + kj]; q += 1 }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            return out
        }
        if let value, !value.data.withUnsafeBufferPointer({ a in
            weight.value.data.withUnsafeBufferPointer { b in a.baseAddress == b.baseAddress && a.count == b.count }
        }) {
            return gather(value)
        }
        let g = taps.geometry
        return weight.derived("tapClasses \(g.height)x\(g.width)", gather)
    }

    /// One group's forward product for `images` consecutive images (the first at `x`, `inPer`
    /// floats apart), class by class, into `prod` (Og rows, row stride images·patches): each
    /// class's columns, unfolded straight into the packed panels (`pack`), times its gathered filters (`weights`, the
    /// `classWeights` array), into `classProd`, then copied to the class's positions.
    func classProducts(_ taps: TapClasses, _ x: UnsafePointer<Float>, images: Int, inPer: Int, group gi: Int,
                       weights: UnsafePointer<Float>, pack: UnsafeMutablePointer<Float>,
                       classProd: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                       into prod: UnsafeMutablePointer<Float>,
                       narrow: (filters: UnsafePointer<Float>, a: UnsafeMutablePointer<Float>, cT: UnsafeMutablePointer<Float>)? = nil) {
        let g = taps.geometry, Og = outChannels / groups, ld = images * g.patches
        var offset = 0, narrowOffset = 0
        for (m, k) in taps.classes.enumerated() {
            let rows = g.channels * k.taps, ldm = images * k.positions
            let narrowCount = PackedMatrix.packedCount(k: max(1, rows), n: Og)
            defer { offset += outChannels * rows; narrowOffset += groups * narrowCount }
            guard rows > 0 else {
                taps.zero(m, rows: Og, images: images, dense: prod, ld: ld)
                continue
            }
            taps.unfoldPacked(m, x, images: images, inPer: inPer, into: pack)
            if let narrow, Conv2d.isNarrow(ldm) {
                // Few columns: Cᵀ = colsᵀ·Wᵀ (`narrowClassFilters`), the same bits.
                Conv2d.narrowProduct(k: rows, n: Og, columns: ldm, b: pack, ldb: PackedMatrix.panelWidth,
                                     filters: narrow.filters + narrowOffset + gi * narrowCount,
                                     a: narrow.a, cT: narrow.cT, scratch: scratch, into: classProd, ldc: ldm)
            } else {
                PackedMatrix.multiply(m: Og, n: ldm, k: rows, a: weights + offset + gi * Og * rows, lda: rows, packed: pack,
                                      c: classProd, ldc: ldm, scratch: scratch)
            }
            taps.copy(m, rows: Og, images: images, toDense: true, dense: prod, ld: ld,
                      classMatrix: classProd, ldClass: ldm)
        }
    }

    /// One group's input gradient for `images` images (the first at `dx`, `inPer` floats apart),
    /// added to what `dx` holds: class by class, the class's columns of `dy` (Og rows, row stride
    /// images·patches) gathered into `dyClass` and packed, then one product per live tap whose
    /// rows are that tap's rows of Wᵀ (`wT`, row stride outChannels, one every kh·kw rows), the
    /// class matrices one after another in `colClass` (`TapClasses.fold`'s layout), folded.
    /// Each element is the dense column gradient's element (the same chain over the Og
    /// filters), and the fold adds them in the dense fold's order: the same bits.
    func classInputGradient(_ taps: TapClasses, wT: UnsafePointer<Float>, dy: UnsafePointer<Float>, images: Int, inPer: Int,
                            pack: UnsafeMutablePointer<Float>, dyClass: UnsafeMutablePointer<Float>,
                            colClass: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                            narrow: (filters: UnsafePointer<Float>, a: UnsafeMutablePointer<Float>, cT: UnsafeMutablePointer<Float>)? = nil,
                            into dx: UnsafeMutablePointer<Float>) {
        let g = taps.geometry, Og = outChannels / groups, ld = images * g.patches
        let (C, kw, KK) = (g.channels, g.kernelW, g.kernelH * g.kernelW)
        var matrix = colClass
        for (m, k) in taps.classes.enumerated() {
            let (T, ldm, width) = (k.taps, images * k.positions, k.kernelColumns.count)
            defer { matrix += C * T * ldm }
            guard T > 0 else { continue }
            taps.copy(m, rows: Og, images: images, toDense: false, dense: UnsafeMutablePointer(mutating: dy), ld: ld,
                      classMatrix: dyClass, ldClass: ldm)
            if let narrow, Conv2d.isNarrow(ldm) {
                // Few columns: per live tap, colᵀ = dYᵀ·W_tap against the tap's filters packed
                // as stored (`narrowTapFilters`, this group's blocks from `narrow.filters`).
                let count = PackedMatrix.packedCount(k: Og, n: C)
                for t in 0..<T {
                    let tap = (k.kernelRows.lowerBound + t / width) * kw + k.kernelColumns.lowerBound + t % width
                    Conv2d.narrowProduct(k: Og, n: C, columns: ldm, b: dyClass, ldb: ldm, filters: narrow.filters + tap * groups * count,
                                         a: narrow.a, cT: narrow.cT, scratch: scratch, into: matrix + t * ldm, ldc: T * ldm)
                }
                continue
            }
            PackedMatrix.pack(transposed: false, k: Og, n: ldm, b: dyClass, ldb: ldm, into: pack)
            for t in 0..<T {
                let tap = (k.kernelRows.lowerBound + t / width) * kw + k.kernelColumns.lowerBound + t % width
                PackedMatrix.multiply(m: C, n: ldm, k: Og, a: wT + tap * outChannels, lda: KK * outChannels, packed: pack,
                                      c: matrix + t * ldm, ldc: T * ldm, scratch: scratch)
            }
        }
        taps.fold(colClass, images: images, inPer: inPer, into: dx)
    }
}

/// Counts of convolution calls that took the class products: tests check the path was taken
/// (its results equal the dense path's, so equality alone cannot tell).
final class TapClassCalls: Sendable {
    private let forward = CallCounter(), inputGradient = CallCounter()

    func record(forward isForward: Bool) { (isForward ? forward : inputGradient).record() }

    /// (forward, inputGradient) so far.
    var current: (forward: Int, inputGradient: Int) { (forward.current, inputGradient.current) }
}
