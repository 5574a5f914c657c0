import TensorEngine

/// The convolution's backward pass (`gradient`, and `backwardBlock` for a fused convolution,
/// ReLU and max-pooling block): weight gradients summed over fixed batch segments, the input
/// gradient's products (dense, per tap class, or narrow) folded back into the image, and the
/// pooling gradient routed to each window's winner. The forward pass is in `Conv2d.swift`.
extension Conv2d {
    public func gradient(_ dy: Tensor, input x: Tensor, output y: Tensor, saved: SavedState?,
                         _ pass: BackwardPass, needInput: Bool) -> Tensor? {
        backwardBlock(dy, input: x, reluMask: nil, pool: nil, pass, needInput: needInput)
    }

    /// Backward through the convolution, or through a convolution block: `dy` is then the
    /// gradient at the block's output, `pool` the pooling layer with the argmax it saved, and
    /// `reluMask` the output of the block's ReLU (positive where the ReLU passes gradient) or,
    /// with a pooling, the pooling's output (a winner's ReLU output is the pooled value).
    func backwardBlock(_ dy: Tensor, input x: Tensor, reluMask: Tensor?, pool: (MaxPool2d, [Int32])?,
                       _ pass: BackwardPass, needInput: Bool) -> Tensor? {
        let wantParams = pass.wantParameters
        guard wantParams || needInput else { return nil }
        let n = x.batch
        if n == 0 {
            if wantParams {
                pass.gradients.accumulate(weight, Tensor(shape: weight.value.shape))
                if let bias { pass.gradients.accumulate(bias, Tensor(shape: bias.value.shape)) }
            }
            return needInput ? Tensor(shape: x.shape) : nil
        }
        let g = geometry(Array(x.shape.dropFirst()))
        let (K, P, O) = (g.columnRows, g.patches, outChannels)
        let (G, Og, groupIn) = (groups, outChannels / groups, g.channels * g.height * g.width)
        let inPer = inChannels * g.height * g.width
        let depthwise = isDepthwise
        let hasBias = bias != nil
        let PP = pool != nil ? dy.itemCount / O : 0
        let direct = reluMask == nil && pool == nil
        let pool2x2 = pool.map { $0.0.tilesTwoByTwo(height: g.outH, width: g.outW) } ?? false

        if pool2x2 && needInput && !wantParams && G == 1 && !depthwise && O >= Conv2d.pooledInputGradientMinimumFilters {
            // Input gradient alone behind a 2×2 pooling: from the pooled gradient, without the
            // dense product (`Conv2d+PooledInputGradient.swift`), one image per task.
            let workers = Parallel.workers(forTasks: n)
            let scratch = (0..<workers).map {
                pass.execution.workspace.buffer(100 + $0, count: Conv2d.pooledInputGradientScratch(g, outChannels: O))
            }
            let dx = Tensor(uninitializedShape: x.shape) { dxb in
                dy.data.withUnsafeBufferPointer { d in
                weight.value.data.withUnsafeBufferPointer { wv in
                (reluMask?.data ?? []).withUnsafeBufferPointer { rs in
                pool!.1.withUnsafeBufferPointer { am in
                    let rp = reluMask != nil ? rs.baseAddress : nil
                    Parallel.forEachTask(n, maxWorkers: workers) { i, worker in
                        Conv2d.pooledInputGradient(dy: d.baseAddress! + i * O * PP, argmax: am.baseAddress! + i * O * PP,
                                                   mask: rp.map { $0 + i * O * PP }, weights: wv.baseAddress!, outChannels: O, g,
                                                   into: dxb.baseAddress! + i * inPer, scratch: scratch[worker])
                    }
                } } } }
            }
            return dx
        }

        // Segments: fixed by the batch size, each a run of whole groups summed in order. An
        // input gradient alone sums nothing across images, so each group is a segment of its
        // own: eight fixed segments cut ResNet-18-32's layer3 groups of 24 images (a chunk of 48)
        // to 6, products of 6 columns in 16-column panels.
        let gs = wantParams ? groupSize(g, batch: n) : (depthwise ? 1 : productImages(g, batch: n))
        let segments = wantParams ? segmentCount(g, batch: n) : (n + gs - 1) / gs
        let workers = Parallel.workers(forTasks: segments)
        let layout = wantParams && !depthwise ? weightGradientLayout(g, batch: n) : .columnMajor
        // Small planes mostly in the padding: the input gradient's product per tap class.
        let taps = needInput ? tapClasses(g, images: gs) : nil
        if taps != nil { Conv2d.tapClassCalls.record(forward: false) }
        let ws = pass.execution.workspace
        var cols: [UnsafeMutablePointer<Float>] = [], dys: [UnsafeMutablePointer<Float>] = [], temps: [UnsafeMutablePointer<Float>] = []
        var packs: [UnsafeMutablePointer<Float>] = []
        // A class's columns of dY [Og, ·] and its column gradient [C·T, ·].
        var dyClasses: [UnsafeMutablePointer<Float>] = [], colClasses: [UnsafeMutablePointer<Float>] = []
        for w in 0..<workers {
            dyClasses.append(ws.buffer(600 + w, count: taps != nil ? Og * gs * P : 1))
            colClasses.append(ws.buffer(900 + w, count: taps != nil ? K * gs * P : 1))
            // Depthwise: the padded input plane and its gradient instead of columns.
            cols.append(ws.buffer(100 + w, count: depthwise ? Im2Col.scratchCount(g) : K * gs * P))
            dys.append(ws.buffer(200 + w, count: O * gs * P))
            // (The input gradient's product has inner dimension Og: its row scratch is 6·Og.)
            temps.append(ws.buffer(300 + w, count: max(P, Im2Col.scratchCount(g), PackedMatrix.scratchCount(k: Og))))
            packs.append(ws.buffer(500 + w, count: needInput && !depthwise ? PackedMatrix.packedCount(k: Og, n: gs * P) : 1))
        }
        // The weight gradient's packed dYᵀ (or colsᵀ) and the row scratch of its product (inner dimension gs·P).
        let gradientPackColumns = layout == .outputMajor ? K : Og
        let dyPacks = (0..<workers).map { ws.buffer(700 + $0, count: wantParams && !depthwise ? PackedMatrix.packedCount(k: gs * P, n: gradientPackColumns) : 1) }
        let rowScratches = (0..<workers).map { ws.buffer(800 + $0, count: wantParams && !depthwise ? PackedMatrix.scratchCount(k: gs * P) : 1) }
        // Wᵀ [K, O]: the input gradient's left-hand matrix, rows read in place by the GEMM; the
        // layer's own weight transposed once and kept (`Parameter.transposedMatrix`).
        let wTArray: [Float] = needInput && !depthwise ? weight.transposedMatrix() : []
        // Input-gradient products of at most `narrowColumns` columns, the other way round
        // against the filters packed as stored (`Conv2d+NarrowProduct.swift`).
        let narrowBack = needInput && !depthwise && !Conv2d.forceWideProducts
            && (taps.map { $0.classes.contains { Conv2d.isNarrow(gs * $0.positions) } } ?? Conv2d.isNarrow(gs * P))
        let backFilters: [Float] = !narrowBack ? [] : taps == nil ? narrowFilters(transposed: false)
            : narrowTapFilters(channels: g.channels, taps: g.kernelH * g.kernelW)
        let backCount = taps == nil ? PackedMatrix.packedCount(k: Og, n: K) : PackedMatrix.packedCount(k: Og, n: g.channels)
        let narrowAs = (0..<workers).map { ws.buffer(1000 + $0, count: narrowBack ? Conv2d.narrowScratchCount(columnRows: K, outChannels: O) : 1) }
        let narrowCs = (0..<workers).map { ws.buffer(1100 + $0, count: narrowBack ? Conv2d.narrowScratchCount(columnRows: K, outChannels: O) : 1) }
        let partSize = K * O + O   // dWᵀ (or dW, by `layout`), then db
        let partials = wantParams ? ws.buffer(400, count: segments * partSize) : ws.buffer(400, count: 1)
        var dx = uninitialized(needInput ? x.count : 0)

        dy.data.withUnsafeBufferPointer { dys0 in
        x.data.withUnsafeBufferPointer { xs in
        weight.value.data.withUnsafeBufferPointer { wv in
        (reluMask?.data ?? []).withUnsafeBufferPointer { rs in
        (pool?.1 ?? []).withUnsafeBufferPointer { am in
        wTArray.withUnsafeBufferPointer { wTs in
        backFilters.withUnsafeBufferPointer { bf in
        dx.withUnsafeMutableBufferPointer { dxb in
            let gp = dys0.baseAddress!, xp = xs.baseAddress!, wp = wv.baseAddress!
            // (An empty array may still have a base address: test what was passed instead.)
            let rp = reluMask != nil ? rs.baseAddress : nil
            let amp = pool != nil ? am.baseAddress : nil, dxp = needInput ? dxb.baseAddress : nil
            Parallel.forEachTask(segments, maxWorkers: workers) { s, worker in
                let start = s * n / segments, end = (s + 1) * n / segments
                let col = cols[worker], dyBlock = dys[worker], temp = temps[worker], pack = packs[worker]
                let part = partials + s * partSize
                var first = true
                var i0 = start
                while i0 < end {
                    let nb = min(gs, end - i0)
                    let ld = nb * P
                    // dY of the convolution's output for this group, as [O, nb·P].
                    let d: UnsafePointer<Float>
                    if direct && nb == 1 {
                        d = gp + i0 * O * P
                    } else {
                        // Images in parallel when this segment is the only one (outside a region).
                        Parallel.forRanges(nb, grain: max(1, 65_536 / max(1, O * max(P, PP)))) { images in
                            for i in images {
                                for o in 0..<O {
                                    let dst = dyBlock + o * ld + i * P
                                    let off = ((i0 + i) * O + o) * P
                                    if pool2x2 {
                                        // Windows that tile the plane: each position is written once.
                                        let src = gp + ((i0 + i) * O + o) * PP
                                        let idx = amp! + ((i0 + i) * O + o) * PP
                                        Conv2d.routePool2x2(src, idx, mask: rp.map { $0 + ((i0 + i) * O + o) * PP }, into: dst, g.outH, g.outW)
                                    } else if pool != nil {
                                        for p in 0..<P { dst[p] = 0 }
                                        let src = gp + ((i0 + i) * O + o) * PP
                                        let idx = amp! + ((i0 + i) * O + o) * PP
                                        if let rp {
                                            let mask = rp + ((i0 + i) * O + o) * PP
                                            for j in 0..<PP where mask[j] > 0 { dst[Int(idx[j])] += src[j] }
                                        } else {
                                            for j in 0..<PP { dst[Int(idx[j])] += src[j] }
                                        }
                                    } else if let rp {
                                        let src = gp + off, mask = rp + off
                                        for p in 0..<P { dst[p] = mask[p] > 0 ? src[p] : 0 }
                                    } else {
                                        let src = gp + off
                                        for p in 0..<P { dst[p] = src[p] }
                                    }
                                }
                            }
                        }
                        d = UnsafePointer(dyBlock)
                    }
                    if needInput {
                        for i in 0..<nb { (dxp! + (i0 + i) * inPer).update(repeating: 0, count: inPer) }
                    }
                    if depthwise {
                        Conv2d.depthwiseBackward(x: xp + i0 * inPer, dy: d, ld: ld, images: nb, channels: inChannels,
                                                 multiplier: Og, g, weights: wp, dWt: wantParams ? part : nil, first: first,
                                                 dx: needInput ? dxp! + i0 * inPer : nil, scratch: temp, dxScratch: col)
                    }
                    if wantParams && !depthwise {
                        for gi in 0..<G {
                            let cols = columns(xp + i0 * inPer + gi * groupIn, images: nb, g, inPer: inPer, into: col, scratch: temp)
                            if layout == .outputMajor {
                                // dW (O×K) += dY · colᵀ: the columns packed, dY's rows read in place.
                                PackedMatrix.pack(transposed: true, k: ld, n: K, b: cols, ldb: ld, into: dyPacks[worker])
                                PackedMatrix.multiply(m: Og, n: K, k: ld, a: d + gi * Og * ld, lda: ld, packed: dyPacks[worker],
                                                      beta: first ? 0 : 1, c: part + gi * Og * K, ldc: K, scratch: rowScratches[worker])
                            } else {
                                // dWᵀ (K×O) += col · dYᵀ, on AdvLens' GEMM (its AVX-512 kernel runs ~1.6x
                                // OpenBLAS's Haswell one): dYᵀ packed, the columns read in place.
                                PackedMatrix.pack(transposed: true, k: ld, n: Og, b: d + gi * Og * ld, ldb: ld, into: dyPacks[worker])
                                PackedMatrix.multiply(m: K, n: Og, k: ld, a: cols, lda: ld, packed: dyPacks[worker],
                                                      beta: first ? 0 : 1, c: part + gi * Og, ldc: O, scratch: rowScratches[worker])
                            }
                            if needInput {
                                // The column gradient reuses the column buffer.
                                addInputGradient(wTs.baseAddress! + gi * Og, d + gi * Og * ld, images: nb, g, inPer: inPer, col: col,
                                                 pack: pack, scratch: temp, taps: taps, classBuffers: (dyClasses[worker], colClasses[worker]),
                                                 narrow: narrowBack ? (bf.baseAddress! + gi * backCount, narrowAs[worker], narrowCs[worker]) : nil,
                                                 into: dxp! + i0 * inPer + gi * groupIn)
                            }
                        }
                    } else if needInput && !depthwise {
                        for gi in 0..<G {
                            addInputGradient(wTs.baseAddress! + gi * Og, d + gi * Og * ld, images: nb, g, inPer: inPer, col: col,
                                             pack: pack, scratch: temp, taps: taps, classBuffers: (dyClasses[worker], colClasses[worker]),
                                             narrow: narrowBack ? (bf.baseAddress! + gi * backCount, narrowAs[worker], narrowCs[worker]) : nil,
                                             into: dxp! + i0 * inPer + gi * groupIn)
                        }
                    }
                    if wantParams {
                        if hasBias {
                            let pb = part + O * K
                            for o in 0..<O {
                                let row = d + o * ld
                                var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0
                                var p = 0
                                while p + 4 <= ld { s0 += row[p]; s1 += row[p + 1]; s2 += row[p + 2]; s3 += row[p + 3]; p += 4 }
                                while p < ld { s0 += row[p]; p += 1 }
                                let sum = (s0 + s1) + (s2 + s3)
                                pb[o] = first ? sum : pb[o] + sum
                            }
                        }
                    }
                    first = false
                    i0 += nb
                }
            }
        } } } } } } } }

        if wantParams {
            // Segments added in order (the same sums whichever thread ran which segment), and
            // dWᵀ turned back into [O, K].
            let dW = Tensor(uninitializedShape: weight.value.shape) { out in
                if layout == .outputMajor {
                    let w = out.baseAddress!
                    Parallel.forRanges(K * O, grain: 65_536 / segments + 1) { r in
                        for i in r {
                            var v = partials[i]
                            for s in 1..<segments { v += partials[s * partSize + i] }
                            w[i] = v
                        }
                    }
                } else {
                    MatrixTranspose.sumTransposed(partials, rows: K, cols: O, segments: segments, segmentStride: partSize, into: out.baseAddress!)
                }
            }
            let db = Tensor(uninitializedShape: [O]) { out in
                for o in 0..<O {
                    var v = partials[O * K + o]
                    for s in 1..<segments { v += partials[s * partSize + O * K + o] }
                    out[o] = v
                }
            }
            pass.gradients.accumulate(weight, dW)
            if let bias { pass.gradients.accumulate(bias, db) }
        }
        return needInput ? Tensor(shape: x.shape, data: dx) : nil
    }

    /// The column matrix of `images` consecutive images (the first at `x`, `inPer` floats
    /// apart), side by side with row stride images·patches: written into `col`, or, for one
    /// image of a pointwise (1×1, stride 1, unpadded) geometry, the image itself, read in place.
    @inline(__always)
    func columns(_ x: UnsafePointer<Float>, images: Int, _ g: ConvGeometry, inPer: Int,
                 into col: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) -> UnsafePointer<Float> {
        if images == 1 && g.isPointwise { return x }
        let ld = images * g.patches
        let grain = max(1, 65_536 / max(1, g.columnRows * g.patches))
        if Parallel.workers(forTasks: images / grain) > 1 {
            // The only segment (outside a region): images in parallel, each range with its own
            // padded-plane scratch.
            Parallel.forRanges(images, grain: grain) { range in
                withUnsafeTemporaryAllocation(of: Float.self, capacity: Im2Col.scratchCount(g)) { own in
                    for i in range { Im2Col.unfold(x + i * inPer, g, into: col + i * g.patches, ldcol: ld, scratch: own.baseAddress!) }
                }
            }
            return UnsafePointer(col)
        }
        for i in 0..<images {
            Im2Col.unfold(x + i * inPer, g, into: col + i * g.patches, ldcol: ld, scratch: scratch)
        }
        return UnsafePointer(col)
    }

    /// Adds one group's input gradient for `images` consecutive images: the column gradient
    /// Wᵀ·dY (`wT` this group's columns of Wᵀ [K, outChannels], `dy` its [rows, images·patches]
    /// gradient, packed into `pack`) folded into `dx` (which holds zeros or other groups'
    /// channels), or, for one image of a pointwise geometry, the product written straight into
    /// the image's gradient. On AdvLens' own GEMM, so an image's gradient does not depend on
    /// the images beside it in the product. With `taps` the column gradient is the class
    /// products' (`classInputGradient`, scratch in `classBuffers`), with the same bits.
    @inline(__always)
    func addInputGradient(_ wT: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, images: Int, _ g: ConvGeometry, inPer: Int,
                          col: UnsafeMutablePointer<Float>, pack: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                          taps: TapClasses?, classBuffers: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>),
                          narrow: (filters: UnsafePointer<Float>, a: UnsafeMutablePointer<Float>, cT: UnsafeMutablePointer<Float>)? = nil,
                          into dx: UnsafeMutablePointer<Float>) {
        let (K, P, rows) = (g.columnRows, g.patches, outChannels / groups)
        let ld = images * P
        if let taps {
            classInputGradient(taps, wT: wT, dy: dy, images: images, inPer: inPer, pack: pack, dyClass: classBuffers.0,
                               colClass: classBuffers.1, scratch: scratch, narrow: narrow, into: dx)
            return
        }
        if let narrow, Conv2d.isNarrow(ld) {
            // Few columns: colᵀ = dYᵀ·W against the group's filters packed as stored; the same bits.
            let pointwise = images == 1 && g.isPointwise
            Conv2d.narrowProduct(k: rows, n: K, columns: ld, b: dy, ldb: ld, filters: narrow.filters, a: narrow.a, cT: narrow.cT,
                                 scratch: scratch, into: pointwise ? dx : col, ldc: ld)
            if !pointwise { Conv2d.foldImages(col, images: images, g, inPer: inPer, into: dx) }
            return
        }
        if g.isPointwise && P >= Conv2d.rowsPlane && !Conv2d.forcePackedPointwise {
            // Each image's dY read in place (no pack) and its gradient written straight into dx
            // (a pointwise fold is a copy): the same bits, as a chain from +0 never ends at -0.
            Conv2d.pointwiseRowsCalls.record()
            for i in 0..<images {
                PackedMatrix.multiplyRows(m: K, n: P, k: rows, a: wT, lda: outChannels, b: dy + i * P, ldb: ld,
                                          c: dx + i * inPer, ldc: P, scratch: scratch, panel: pack)
            }
            return
        }
        PackedMatrix.pack(transposed: false, k: rows, n: ld, b: dy, ldb: ld, into: pack)
        if images == 1 && g.isPointwise {
            PackedMatrix.multiply(m: K, n: P, k: rows, a: wT, lda: outChannels, packed: pack, c: dx, ldc: P, scratch: scratch)
            return
        }
        PackedMatrix.multiply(m: K, n: ld, k: rows, a: wT, lda: outChannels, packed: pack, c: col, ldc: ld, scratch: scratch)
        Conv2d.foldImages(col, images: images, g, inPer: inPer, into: dx)
    }

    /// `Im2Col.fold` of each of `images` images' columns (side by side in `col`, row stride
    /// images·patches) into its gradient, the images in parallel when this runs outside a region
    /// (a backward pass of one weight-gradient segment: ResNet's layer3 and layer4 at 32×32).
    /// Each image's gradient is its own: the same bits on any number of threads.
    static func foldImages(_ col: UnsafePointer<Float>, images: Int, _ g: ConvGeometry, inPer: Int, into dx: UnsafeMutablePointer<Float>) {
        let (P, ld) = (g.patches, images * g.patches)
        Parallel.forRanges(images, grain: max(1, 65_536 / max(1, g.columnRows * P))) { range in
            for i in range { Im2Col.fold(col + i * P, ldcol: ld, g, into: dx + i * inPer) }
        }
    }

    /// The gradient of a 2×2 / stride 2 max pooling routed to each window's winner (windows
    /// do not overlap, so each position receives at most one value: a store, not an add),
    /// dropped where the pooled ReLU output `mask` (when given) is not positive. `dst` (h×w)
    /// is written whole. Values are those of zero-fill then add (x + 0 turns -0 into +0).
    @inline(__always)
    static func routePool2x2(_ src: UnsafePointer<Float>, _ idx: UnsafePointer<Int32>, mask: UnsafePointer<Float>?,
                             into dst: UnsafeMutablePointer<Float>, _ h: Int, _ w: Int) {
        dst.update(repeating: 0, count: h * w)
        let n = (h / 2) * (w / 2)
        if let mask {
            // A select on bit patterns: whether a window passes is data, and branches on it mispredict.
            for j in 0..<n {
                let v = (src[j] + 0).bitPattern
                dst[Int(idx[j])] = Float(bitPattern: mask[j] > 0 ? v : 0)
            }
        } else {
            for j in 0..<n { dst[Int(idx[j])] = src[j] + 0 }
        }
    }
}
