/// The output positions of a convolution grouped into **tap classes**: positions whose windows
/// have the same kernel taps (ki, kj) inside the image.
///
/// Why: im2col writes a zero for every tap that falls into the padding, and the GEMM multiplies
/// it. On the small planes of a deep network at a small input (ResNet-18 at 32×32: layer4's
/// 3×3 convolutions on 1×1 planes see 1 live tap in 9, layer3's on 2×2 planes 4 in 9) most of
/// the product is such zeros. Within a class every live tap is inside the image for every
/// position, so a class's columns hold only live taps (no bounds checks, no zeros) and its
/// product skips the dead ones. The live rows stay in the dense order (c, ki, kj), so each
/// product element is the dense element's fused multiply-add chain without its a·(+0) terms,
/// which do not change an accumulator that starts at +0: the same bits (unless a dead tap's
/// weight is infinite or NaN, where the dense product's inf·0 gives NaN).
///
/// The taps inside the image for output row oy are one range of ki, and the ranges only move
/// down as oy grows, so the rows with equal ranges are consecutive; likewise columns. A class
/// is therefore a rectangle of output rows × columns with a rectangle of live taps, and the
/// classes are the row bands × the column bands (9 for a 3×3, stride-1, padding-1 kernel on a
/// plane of at least 3×3; 1 on a 1×1 plane).
///
/// The input gradient runs its product Wᵀ·dY per class too (an element is the same chain over
/// the filters, so only the dead entries are dropped), and `fold` adds the class matrices into
/// the image gradient in `Im2Col.fold`'s order.
public struct TapClasses: Sendable {
    /// One class: its output positions and its live taps.
    public struct TapClass: Sendable, Equatable {
        /// Output rows and columns of its positions.
        public let rows: Range<Int>, columns: Range<Int>
        /// Live kernel rows ki and kernel columns kj (empty when every tap is in the padding).
        public let kernelRows: Range<Int>, kernelColumns: Range<Int>
        /// Output positions.
        public var positions: Int { rows.count * columns.count }
        /// Live taps.
        public var taps: Int { kernelRows.count * kernelColumns.count }
    }

    public let geometry: ConvGeometry
    /// Row bands × column bands, row-major.
    public let classes: [TapClass]

    public init(_ g: ConvGeometry) {
        geometry = g
        // Consecutive output positions (along one axis) with the same live kernel range.
        func bands(out: Int, kernel: Int, stride: Int, pad: Int, dilation: Int, size: Int) -> [(Range<Int>, Range<Int>)] {
            var result: [(Range<Int>, Range<Int>)] = []
            for o in 0..<out {
                // Input index o·s - pad + k·d in [0, size): k >= ceil((pad - o·s) / d), k <= floor((size - 1 + pad - o·s) / d).
                let a = pad - o * stride, b = size - 1 + pad - o * stride
                let lo = a <= 0 ? 0 : (a + dilation - 1) / dilation
                let hi = b < 0 ? 0 : min(kernel, b / dilation + 1)
                let live = lo < hi ? lo..<hi : 0..<0
                if let last = result.last, last.1 == live {
                    result[result.count - 1].0 = last.0.lowerBound..<(o + 1)
                } else {
                    result.append((o..<(o + 1), live))
                }
            }
            return result
        }
        let rowBands = bands(out: g.outH, kernel: g.kernelH, stride: g.strideH, pad: g.padH, dilation: g.dilationH, size: g.height)
        let columnBands = bands(out: g.outW, kernel: g.kernelW, stride: g.strideW, pad: g.padW, dilation: g.dilationW, size: g.width)
        classes = rowBands.flatMap { r in
            columnBands.map { c in TapClass(rows: r.0, columns: c.0, kernelRows: r.1, kernelColumns: c.1) }
        }
    }

    /// Live multiply-adds over the dense product's: Σ taps·positions / (kh·kw·outH·outW).
    public var liveFraction: Double {
        let live = classes.reduce(0) { $0 + $1.taps * $1.positions }
        return Double(live) / Double(max(1, geometry.kernelH * geometry.kernelW * geometry.patches))
    }

    /// Live fraction at or below which the class products replace the dense one. Each class
    /// costs a gather of its columns and a copy of its product, element by element, and a
    /// product of fewer columns, where the dense path copies whole rows; saving a fifth of the
    /// multiply-adds pays for that, less does not. Measured on ResNet-18 at 32×32 (batch 64,
    /// daemon CPU time): 0.85, which adds the 8×8 planes (84% live), ran PGD-10 1.05x and
    /// predict 1.03x slower than 0.8; 0.6, which drops the 4×4 planes (69%), ran predict 1.19x
    /// slower.
    public static let maximumLiveFraction = 0.8
    /// Kernels with more taps keep the dense product: the classes and the filters gathered per
    /// class grow with the taps, and the networks' largest kernels (7×7 stems, 49 taps) run on
    /// planes large enough to stay dense anyway.
    public static let maximumTaps = 64

    /// Reading one filter value, relative to one multiply-add, in `worthwhile`'s cost. Each
    /// class has filters of its own (its live taps gathered), so the class products read
    /// Σ taps over the classes per filter pair where the dense one reads kh·kw: 49 against 9 on
    /// a 4×4 plane, 16 against 9 on a 2×2 one. With few columns (one image) a product streams its
    /// filters from the shared cache for a handful of multiply-adds each, and the extra reads
    /// cost more than the skipped zeros save. 16: the cache delivers about 8 floats a cycle to a
    /// core that does 32 multiply-adds, and the few-row tiles use about half of that.
    /// Measured on ResNet-18-32 `predict` (round trips through the daemon, two builds called
    /// in turns, 200-300 calls each): with the classes on the 4×4 and 2×2 planes one image took
    /// 1.15-1.17 ms, with this rule (dense there) 0.61 ms; 2 images 1.29-1.37 against
    /// 0.70-0.78 ms, 8 images 2.6-3.1 against 2.1-2.2 ms, 16 images 4.2-4.3 against 3.9-4.1 ms.
    /// At 64 images (16-32 images a product) it keeps every class the live-fraction rule took.
    public static let filterReadCost = 16

    /// The classes of `g` when their products, of `images` images each, cost less than the
    /// dense one: live multiply-adds at most `maximumLiveFraction` of the dense ones, and
    /// (`filterReadCost`) the class filters' extra reads repaid by the multiply-adds skipped.
    /// Either way the bits are the same (see the type's comment). Else nil.
    public static func worthwhile(_ g: ConvGeometry, images: Int) -> TapClasses? {
        guard g.kernelH * g.kernelW <= maximumTaps, !g.isPointwise else { return nil }
        let t = TapClasses(g)
        guard t.liveFraction <= maximumLiveFraction else { return nil }
        // Per (input channel, output channel) pair: filter values read, and multiply-adds.
        let taps = g.kernelH * g.kernelW
        let classReads = t.classes.reduce(0) { $0 + $1.taps }
        let classWork = t.classes.reduce(0) { $0 + $1.taps * $1.positions } * images
        let denseWork = taps * g.patches * images
        return classReads * filterReadCost + classWork < taps * filterReadCost + denseWork ? t : nil
    }

    /// Calls `body` with, for each column of class `m`'s matrix over `images` images (image b's
    /// positions at b·positions, each row-major), the offset origin + b·imageStride +
    /// oy·rowStride + ox·columnStride of its position (oy, ox): one gather loop per row then
    /// serves every image and position, where copying the class's runs (often one float wide on
    /// the small planes classes are for) would cost a call each.
    @inline(__always)
    func withOffsets<R>(_ m: Int, images: Int, imageStride: Int, rowStride: Int, columnStride: Int, origin: Int,
                        _ body: (UnsafePointer<Int>, Int) -> R) -> R {
        let n = images * classes[m].positions
        return withUnsafeTemporaryAllocation(of: Int.self, capacity: max(1, n)) { buffer in
            fillOffsets(m, images: images, imageStride: imageStride, rowStride: rowStride, columnStride: columnStride,
                        origin: origin, into: buffer.baseAddress!)
            return body(UnsafePointer(buffer.baseAddress!), n)
        }
    }

    /// The offsets of `withOffsets`, written to `off` (images·positions entries).
    @inline(__always)
    func fillOffsets(_ m: Int, images: Int, imageStride: Int, rowStride: Int, columnStride: Int, origin: Int,
                     into off: UnsafeMutablePointer<Int>) {
        let k = classes[m]
        var q = 0
        for i in 0..<images {
            for oy in k.rows {
                let row = origin + i * imageStride + oy * rowStride
                for ox in k.columns { off[q] = row + ox * columnStride; q += 1 }
            }
        }
    }

    /// Class `m`'s columns (rows (c, ki, kj) over the live taps in the dense order; columns image
    /// by image, each image's positions row-major), written straight into `PackedMatrix`'s panels
    /// (`Im2Col.packPanels`; bit for bit `PackedMatrix.pack` of those columns): the class's
    /// first position and first live tap fix the origin, inside the image, and every other
    /// value is a fixed stride from it.
    public func unfoldPacked(_ m: Int, _ x: UnsafePointer<Float>, images: Int, inPer: Int, into packed: UnsafeMutablePointer<Float>) {
        let g = geometry, k = classes[m]
        let origin = (k.rows.lowerBound * g.strideH - g.padH + k.kernelRows.lowerBound * g.dilationH) * g.width
            + k.columns.lowerBound * g.strideW - g.padW + k.kernelColumns.lowerBound * g.dilationW
        Im2Col.packPanels(x + origin, imageStride: inPer, planeStride: g.height * g.width, rowStride: g.width, images: images,
                          channels: g.channels, kernel: (k.kernelRows.count, k.kernelColumns.count),
                          stride: (g.strideH, g.strideW), dilation: (g.dilationH, g.dilationW),
                          out: (k.rows.count, k.columns.count), into: packed)
    }

    /// Copies class `m`'s positions of `images` images between a dense matrix (row stride `ld`,
    /// image b's positions at column b·patches) and a class matrix (row stride `ldClass`, image
    /// b's at column b·positions), `rows` rows.
    public func copy(_ m: Int, rows: Int, images: Int, toDense: Bool, dense: UnsafeMutablePointer<Float>, ld: Int,
                     classMatrix: UnsafeMutablePointer<Float>, ldClass: Int) {
        withOffsets(m, images: images, imageStride: geometry.patches, rowStride: geometry.outW, columnStride: 1, origin: 0) { off, n in
            for r in 0..<rows {
                let d = dense + r * ld, s = classMatrix + r * ldClass
                if toDense {
                    for q in 0..<n { d[off[q]] = s[q] }
                } else {
                    for q in 0..<n { s[q] = d[off[q]] }
                }
            }
        }
    }

    /// Folds column gradients held per class back into the gradients of `images` images (C×H×W,
    /// the first at `dx`, `inPer` floats apart), adding to what they hold: `cols` holds the class
    /// matrices one after another, class m's [C·T_m rows (c, ki, kj) over its live taps,
    /// images·positions_m columns image by image, positions row-major]. The additions into each input value
    /// come in `Im2Col.fold`'s order, tap by tap in the order (c, ki, kj) (a tap reads an input
    /// value from at most one position), so the sums are the dense fold's to the bit, without
    /// copying the classes into a dense column matrix first.
    ///
    /// Outside a parallel region images go in blocks of about 16 K input floats, the blocks in
    /// parallel (their gradients are disjoint): a weight-gradient pass over ResNet-18-32's layer3
    /// and layer4 is one segment of 64 images, and a training step spent 7% of its time here, on
    /// one core.
    public func fold(_ cols: UnsafePointer<Float>, images: Int, inPer: Int, into dx: UnsafeMutablePointer<Float>) {
        let live = liveTaps(images: images)
        let block = max(1, min(images, Self.foldBlockFloats / max(1, inPer)))
        let blocks = (images + block - 1) / block
        // Blocks only where they run in parallel: inside a region (a segment of a batch) one
        // pass over all the images costs less loop overhead.
        guard Parallel.workers(forTasks: blocks) > 1 else {
            return foldBlock(cols, live, first: 0, count: images, inPer: inPer, into: dx)
        }
        Parallel.forRanges(blocks) { range in
            for b in range {
                let first = b * block
                foldBlock(cols, live, first: first, count: min(block, images - first), inPer: inPer, into: dx + first * inPer)
            }
        }
    }

    /// Input floats of a block of images `fold` adds into at a time (64 KiB, within L2).
    static let foldBlockFloats = 1 << 14

    /// A live (tap, class) pair of `fold`: where the tap lands in a channel's plane, the pair's
    /// first row in the class matrices and the stride from one channel's row to the next, the
    /// class's positions per image and the positions of the classes before it.
    struct LiveTap {
        var plane: Int, row: Int, channelStride: Int, positions: Int, before: Int
    }

    /// The live (tap, class) pairs in the order (ki, kj), then class: the order of the dense
    /// fold's additions into any one input value.
    func liveTaps(images: Int) -> [LiveTap] {
        let g = geometry
        var live: [LiveTap] = []
        for ki in 0..<g.kernelH {
            for kj in 0..<g.kernelW {
                var matrix = 0, before = 0
                for k in classes {
                    let n = images * k.positions
                    if k.kernelRows.contains(ki) && k.kernelColumns.contains(kj) {
                        let t = (ki - k.kernelRows.lowerBound) * k.kernelColumns.count + kj - k.kernelColumns.lowerBound
                        live.append(LiveTap(plane: ki * g.dilationH * g.width + kj * g.dilationW, row: matrix + t * n,
                                            channelStride: k.taps * n, positions: k.positions, before: before))
                    }
                    matrix += g.channels * k.taps * n
                    before += k.positions
                }
            }
        }
        return live
    }

    /// `fold` for images first..<first+count of the batch (`dx` at the first of them).
    private func foldBlock(_ cols: UnsafePointer<Float>, _ live: [LiveTap], first: Int, count: Int, inPer: Int,
                           into dx: UnsafeMutablePointer<Float>) {
        let g = geometry, (H, W) = (g.height, g.width)
        withUnsafeTemporaryAllocation(of: Int.self, capacity: max(1, count * g.patches)) { buffer in
            // The block's input offsets of each class's positions, class after class.
            let off = buffer.baseAddress!
            var q = 0
            for m in classes.indices {
                fillOffsets(m, images: count, imageStride: inPer, rowStride: g.strideH * W, columnStride: g.strideW,
                            origin: -g.padH * W - g.padW, into: off + q)
                q += count * classes[m].positions
            }
            live.withUnsafeBufferPointer { live in
                for c in 0..<g.channels {
                    let plane = dx + c * H * W
                    for e in live {
                        let base = plane + e.plane, o = off + count * e.before
                        let src = cols + e.row + first * e.positions + c * e.channelStride
                        for j in 0..<count * e.positions { base[o[j]] += src[j] }
                    }
                }
            }
        }
    }

    /// Sets class `m`'s positions of `images` images to +0 in `rows` consecutive rows of a dense
    /// matrix: the output of a class with no live tap (before its bias).
    public func zero(_ m: Int, rows: Int, images: Int, dense: UnsafeMutablePointer<Float>, ld: Int) {
        withOffsets(m, images: images, imageStride: geometry.patches, rowStride: geometry.outW, columnStride: 1, origin: 0) { off, n in
            for r in 0..<rows {
                let d = dense + r * ld
                for q in 0..<n { d[off[q]] = 0 }
            }
        }
    }
}
