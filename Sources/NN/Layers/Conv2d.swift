import TensorEngine

/// 2-D convolution (cross-correlation, as PyTorch): weight [out, in / groups, kh, kw], bias
/// [out], with stride, dilation, padding that may differ on each side (ONNX's pads), and
/// channel groups (output channels g·out/groups ..< (g+1)·out/groups see input channels
/// g·in/groups ..< (g+1)·in/groups only).
///
/// Forward: each group of images (`productImages`: one where an image has many output
/// positions, several where it has few) is one task on one core (see `Parallel`): im2col of the
/// group's images side by side written straight into the GEMM's packed panels
/// (`Im2Col.unfoldPacked`, the column matrix never written whole), one product with the filter matrix on AdvLens' own GEMM
/// (`PackedMatrix`: an image's outputs do not depend on the images beside it), then the
/// [out, patches] product is scattered into NCHW with the bias added (at batch 1 the GEMM stores
/// it there finished, bias and activation included: `Epilogue`). When the layers after
/// it are a ReLU and/or a max pooling (`Sequence` finds these blocks) they are applied in the
/// same scatter, while the product is still in cache, and the intermediate outputs are
/// written only when the caller keeps them (a trace defers them, see `Trace`).
/// Backward: dW = dY·colᵀ (im2col recomputed rather than stored), db = row sums of dY,
/// dX = col2im(Wᵀ·dY) (on AdvLens' GEMM, grouped as the forward pass), with the gradient of
/// a fused ReLU / max pooling applied while dY is gathered. Weight gradients are summed per fixed segment of the batch and the
/// segments added in order, so results do not depend on thread timing or the thread count.
/// Only the gradients asked for are computed. Grouped convolutions run one GEMM per group on
/// the group's columns; depthwise ones (one input channel per group, MobileNet's) skip the
/// columns and run a direct kernel per plane (`Conv2d+Depthwise.swift`). On small planes
/// mostly in the padding (ResNet-18's later stages at 32×32) the forward product and the input
/// gradient's run per tap class, skipping the padding's zeros with the same bits
/// (`Conv2d+TapClasses.swift`).
public final class Conv2d: LeafLayer {
    public let name: String
    public var kind: String { "conv2d" }
    public var traceIndex = -1
    public let inChannels: Int, outChannels: Int
    public let kernel: (Int, Int), stride: (Int, Int), dilation: (Int, Int)
    /// (top, left, bottom, right).
    public let pads: (Int, Int, Int, Int)
    /// Channel groups: `inChannels` and `outChannels` are multiples of it.
    public let groups: Int
    /// Padding before the first row and column (top, left).
    public var padding: (Int, Int) { (pads.0, pads.1) }
    /// One input channel per group: the direct kernel.
    var isDepthwise: Bool { groups > 1 && inChannels == groups }
    public let weight: Parameter
    public let bias: Parameter?
    public var parameters: [Parameter] { bias.map { [weight, $0] } ?? [weight] }

    /// Multiply-adds per group: when training (parameter gradients wanted) images are grouped
    /// in the backward pass while one image's product is smaller than this. One image per
    /// weight-gradient GEMM measured fastest for the MNIST models (OpenBLAS's small-matrix
    /// kernels, and the image's columns stay in L2), so larger layers run per image. The
    /// forward pass and the input gradient group images by `productImages` instead.
    static let groupWork = 1 << 18
    /// Columns (output positions, a group's images side by side) a product should have at
    /// least: a layer with few output positions (ResNet's layer4 at 1×1 or 2×2) would otherwise
    /// run one matrix-vector-shaped product per image.
    static let groupColumns = 256

    /// Output positions from which a pointwise layer's forward product reads each image's input
    /// planes in place (`PackedMatrix.multiplyRows`) instead of packing them: MobileNetV2-224's
    /// 1×1 layers on 14×14 to 112×112 planes, whose packing was a fifth of its forward. Smaller
    /// planes (7×7: three whole panels of 49 columns and a packed partial one per image) keep
    /// the images of a product in one packed matrix.
    static let rowsPlane = 128
    /// Test hook: pointwise layers always pack their input (tests compare the two paths).
    static var forcePackedPointwise = false
    /// Test hook: products that read their input planes in place, so a test sees the path taken.
    static let pointwiseRowsCalls = CallCounter()
    /// Test hook: the forward pass finishes every product in a separate pass (bias, activation),
    /// never in the kernels' stores (tests compare the two).
    static var forceSeparateEpilogue = false
    /// Test hook: products whose epilogue ran in the GEMM's stores.
    static let fusedEpilogueCalls = CallCounter()
    /// Floats of columns one product may hold (8 MiB), so wide layers do not group past L3.
    static let groupColumnFloats = 1 << 21
    /// Weight-gradient segments of a batch: at most this many, fixed by the batch size alone.
    static let maxSegments = 8

    /// `pads` (top, left, bottom, right) replaces `padding` when given.
    public init(name: String, inChannels: Int, outChannels: Int, kernel: (Int, Int), stride: (Int, Int),
                padding: (Int, Int), pads: (Int, Int, Int, Int)? = nil, dilation: (Int, Int) = (1, 1), groups: Int = 1,
                bias: Bool) {
        precondition(groups > 0 && inChannels % groups == 0 && outChannels % groups == 0, "channels must divide into groups")
        self.name = name
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernel = kernel
        self.stride = stride
        self.pads = pads ?? (padding.0, padding.1, padding.0, padding.1)
        self.dilation = dilation
        self.groups = groups
        weight = Parameter(name: name + ".weight", value: Tensor(shape: [outChannels, inChannels / groups, kernel.0, kernel.1]))
        self.bias = bias ? Parameter(name: name + ".bias", value: Tensor(shape: [outChannels])) : nil
    }

    /// The geometry of one group's channels (all of them without groups).
    func geometry(_ item: [Int]) -> ConvGeometry {
        ConvGeometry(channels: item[0] / groups, height: item[1], width: item[2], kernel: kernel, stride: stride,
                     pads: pads, dilation: dilation)
    }

    public func outputShape(_ input: [Int]) throws -> [Int] {
        guard input.count == 3 else {
            throw ModelError.shapeMismatch(layer: name, message: "expects [C, H, W] input, got \(input)")
        }
        guard input[0] == inChannels else {
            throw ModelError.shapeMismatch(layer: name, message: "expects \(inChannels) input channels, got \(input[0])")
        }
        let g = geometry(input)
        guard g.isValid else {
            throw ModelError.shapeMismatch(layer: name, message: "kernel \(kernel) with stride \(stride), dilation \(dilation) and padding \([pads.0, pads.1, pads.2, pads.3]) does not fit input \(input)")
        }
        return [outChannels, g.outH, g.outW]
    }

    /// Images side by side in one forward (or input-gradient) product: enough for
    /// `groupColumns` columns within `groupColumnFloats` of columns, but no more than keeps
    /// every core busy. Free to depend on the thread count: the products run on AdvLens' own
    /// GEMM, where a column's result does not depend on the columns beside it.
    func productImages(_ g: ConvGeometry, batch n: Int) -> Int {
        let workers = Parallel.workers(forTasks: n)   // 1 inside a region: the images are this core's
        let perWorker = (n + workers - 1) / max(1, workers)
        return max(1, min(imagesForColumns(g), perWorker))
    }

    /// Images that make `groupColumns` columns, within `groupColumnFloats` of columns.
    func imagesForColumns(_ g: ConvGeometry) -> Int {
        let P = max(1, g.patches), perImage = max(1, g.columnRows * P)
        return min((Conv2d.groupColumns + P - 1) / P, max(1, Conv2d.groupColumnFloats / perImage))
    }

    /// Images per group (per GEMM) of a backward pass that computes parameter gradients.
    /// Also enough images for `groupColumns` columns (within `groupColumnFloats`): the
    /// weight gradient's product sums over the group's columns, and with one column per image
    /// (ResNet's layer4 at a 32×32 input) it would read and write all of dWᵀ once per image.
    /// Fixed by the geometry and the batch size alone, never the thread count, so the
    /// segments' sums do not depend on it.
    func groupSize(_ g: ConvGeometry, batch: Int) -> Int {
        let byWork = Conv2d.groupWork / max(1, max(1, g.columnRows * max(1, g.patches)) * outChannels)
        return max(1, min(batch, max(byWork, imagesForColumns(g))))
    }

    /// Weight-gradient segments of a batch of `n`: up to `maxSegments`, but no more than the
    /// batch has groups of `groupColumns` columns, so a layer with few output positions sums
    /// its weight gradient in a few wide products rather than many thin ones. Fixed by the
    /// batch size and the geometry.
    func segmentCount(_ g: ConvGeometry, batch n: Int) -> Int {
        let columns = n * max(1, g.patches)
        return max(1, min(n, Conv2d.maxSegments, (columns + Conv2d.groupColumns - 1) / Conv2d.groupColumns))
    }

    public func compute(_ x: Tensor, _ run: Execution) -> (Tensor, SavedState?) {
        let out = forwardBlock(x, run, relu: false, pool: nil, keepConv: true, keepRelu: false, keepArgmax: false)
        return (out.conv!, nil)
    }

    // MARK: - Forward block

    /// The outputs of a convolution block; those not asked for are nil.
    struct BlockOutputs {
        var conv: Tensor?
        var relu: Tensor?
        var pool: Tensor?
        var argmax: [Int32]?
    }

    /// Convolution, then optionally ReLU, then optionally max pooling, in one pass per group.
    /// The convolution's output is kept when `keepConv` (or when it is the block's output), the
    /// ReLU's when `keepRelu` (or when it is the block's output), the pooling's argmax when
    /// `keepArgmax`.
    /// `parameters` replaces the layer's weight and bias (a trace recomputing an output with
    /// the values the forward pass used). `clamp` (a following hardtanh or clip, in a pass
    /// without a trace) replaces the convolution output by min(max(y, low), high).
    func forwardBlock(_ x: Tensor, _ run: Execution, relu: Bool, pool: MaxPool2d?,
                      keepConv: Bool, keepRelu: Bool, keepArgmax: Bool,
                      parameters: (weight: Tensor, bias: Tensor?)? = nil, clamp: (low: Float, high: Float)? = nil) -> BlockOutputs {
        precondition(clamp == nil || (!relu && pool == nil), "Conv2d: a clamp replaces the block's ReLU and pooling")
        let weightValue = parameters?.weight ?? weight.value
        let biasValue = parameters != nil ? parameters!.bias : bias?.value
        let n = x.batch
        let g = geometry(Array(x.shape.dropFirst()))
        let (K, P, O) = (g.columnRows, g.patches, outChannels)
        let (G, Og, groupIn) = (groups, outChannels / groups, g.channels * g.height * g.width)
        let inPer = inChannels * g.height * g.width
        let depthwise = isDepthwise
        let pg = pool.map { $0.geometry(channels: O, height: g.outH, width: g.outW) }
        let PP = pg?.patches ?? 0

        let wantConv = keepConv || (!relu && pool == nil)
        let wantRelu = relu && (keepRelu || pool == nil)
        let wantArgmax = pool != nil && keepArgmax
        let convShape = [n, O, g.outH, g.outW]
        let poolShape = pg.map { [n, O, $0.outH, $0.outW] } ?? [0]

        var convOut = uninitialized(wantConv ? n * O * P : 0)
        var reluOut = uninitialized(wantRelu ? n * O * P : 0)
        var poolOut = uninitialized(pool != nil ? n * O * PP : 0)
        var argmax = [Int32](unsafeUninitializedCapacity: wantArgmax ? n * O * PP : 0) { _, c in c = wantArgmax ? n * O * PP : 0 }

        let gs = depthwise ? 1 : productImages(g, batch: n)
        let chunks = (n + gs - 1) / gs
        // Depthwise planes are independent: with fewer image chunks than threads (batch 1) the
        // output channels are split between tasks too.
        let splits = depthwise && chunks < Parallel.workers ? min(O, Parallel.workers) : 1
        let workers = Parallel.workers(forTasks: chunks * splits)
        // Small planes mostly in the padding: one product per tap class (`Conv2d+TapClasses.swift`).
        let taps = tapClasses(g, images: gs)
        let classWeights = taps.map { self.classWeights($0, value: parameters?.weight) } ?? []
        if taps != nil { Conv2d.tapClassCalls.record(forward: true) }
        // Products of at most `narrowColumns` columns (one image on a small plane) are taken the
        // other way round against the filters packed transposed (`Conv2d+NarrowProduct.swift`);
        // not for a trace's saved weights, which have no kept packing.
        let narrowDense = !depthwise && taps == nil && parameters == nil && Conv2d.isNarrow(gs * P)
        let narrowClasses = taps != nil && parameters == nil && !Conv2d.forceWideProducts
            && taps!.classes.contains { Conv2d.isNarrow(gs * $0.positions) }
        // A pointwise layer's product reads its input planes in place instead of packing them
        // (a copy of every input), image by image, on planes of at least `rowsPlane` positions.
        let pointwiseRows = g.isPointwise && !depthwise && taps == nil && !narrowDense && P >= Conv2d.rowsPlane
            && !Conv2d.forcePackedPointwise
        if pointwiseRows { Conv2d.pointwiseRowsCalls.record() }
        let narrowFilters = narrowDense ? self.narrowFilters(transposed: true) : narrowClasses ? narrowClassFilters(taps!, classWeights: classWeights) : []
        let narrowCount = narrowDense || narrowClasses ? Conv2d.narrowScratchCount(columnRows: K, outChannels: O) : 1
        let ws = run.workspace
        var cols: [UnsafeMutablePointer<Float>] = [], prods: [UnsafeMutablePointer<Float>] = [], temps: [UnsafeMutablePointer<Float>] = []
        var packs: [UnsafeMutablePointer<Float>] = [], classProds: [UnsafeMutablePointer<Float>] = []
        for w in 0..<workers {
            // The dense path's padded images (`Im2Col.unfoldPacked`).
            cols.append(ws.buffer(100 + w, count: depthwise || taps != nil ? 1 : max(1, Im2Col.packedScratchCount(g, images: gs))))
            prods.append(ws.buffer(200 + w, count: O * gs * P))
            temps.append(ws.buffer(300 + w, count: max(P, Im2Col.scratchCount(g), PackedMatrix.scratchCount(k: K))))
            packs.append(ws.buffer(500 + w, count: depthwise ? 1 : PackedMatrix.packedCount(k: K, n: pointwiseRows ? 1 : gs * P)))
            classProds.append(ws.buffer(600 + w, count: taps != nil ? Og * gs * P : 1))
        }
        let narrowA = (0..<workers).map { ws.buffer(700 + $0, count: narrowCount) }
        let narrowC = (0..<workers).map { ws.buffer(800 + $0, count: narrowCount) }
        // A single image's product (batch 1: one task, the product split between the cores) is
        // its NCHW output planes ([O, P]), so the GEMM stores finished values (bias and
        // activation, `Epilogue`) straight where the block's output plane is, and the separate
        // pass, which ran on one core after the product, goes. With several images per region
        // the pass runs beside the other images' products, and each product's stores stay in
        // its core's scratch: there the fresh output tensor filled by the pass was faster than by
        // the tile stores (MobileNetV2-224 forward b64 1.12x the time; b1 0.85x). Not when both
        // the convolution and its ReLU are kept (two outputs of one product), nor for depthwise,
        // tap-class and narrow products, which are finished from scratch as before.
        let fusedEpilogue = n == 1 && !depthwise && taps == nil && !narrowDense && !(relu && wantConv)
            && !Conv2d.forceSeparateEpilogue
        if fusedEpilogue { Conv2d.fusedEpilogueCalls.record() }
        let activation: Epilogue.Activation = relu ? .relu : clamp.map { .clamp(low: $0.low, high: $0.high) } ?? .none

        x.data.withUnsafeBufferPointer { xs in
        weightValue.data.withUnsafeBufferPointer { wv in
        convOut.withUnsafeMutableBufferPointer { co in
        reluOut.withUnsafeMutableBufferPointer { ro in
        poolOut.withUnsafeMutableBufferPointer { po in
        argmax.withUnsafeMutableBufferPointer { am in
        classWeights.withUnsafeBufferPointer { cw in
        narrowFilters.withUnsafeBufferPointer { nf in
        (biasValue?.data ?? []).withUnsafeBufferPointer { bb in
            let xp = xs.baseAddress!, wp = wv.baseAddress!
            let cop = co.baseAddress, rop = ro.baseAddress, pop = po.baseAddress, amp = am.baseAddress
            let bp = biasValue != nil ? bb.baseAddress : nil
            Parallel.forEachTask(chunks * splits, maxWorkers: workers) { t, worker in
                let task = t / splits, part = t % splits
                let (o0, o1) = (part * O / splits, (part + 1) * O / splits)
                let i0 = task * gs, nb = min(gs, n - i0)
                let ld = nb * P
                let col = cols[worker], prod = prods[worker], temp = temps[worker], pack = packs[worker]
                /// Where image i's (of the task's) plane o ends up when the kernel finishes it: the
                /// block's kept output, or the product's plane when only its pooling is kept.
                func finishedPlane(_ i: Int, _ o: Int) -> UnsafeMutablePointer<Float> {
                    let off = ((i0 + i) * O + o) * P
                    if relu { return wantRelu ? rop! + off : prod + o * ld + i * P }
                    return wantConv ? cop! + off : prod + o * ld + i * P
                }
                /// The epilogue of output channels from `o` on (its bias from channel o).
                func epilogue(from o: Int) -> Epilogue { Epilogue(bias: bp.map { $0 + o }, activation: activation) }
                if depthwise {
                    for i in 0..<nb {
                        for o in o0..<o1 {
                            Conv2d.depthwisePlane(xp + (i0 + i) * inPer + (o / Og) * groupIn, g, weights: wp + o * K,
                                                  into: prod + o * ld + i * P, scratch: temp)
                        }
                    }
                } else if let taps {
                    for gi in 0..<G {
                        classProducts(taps, xp + i0 * inPer + gi * groupIn, images: nb, inPer: inPer, group: gi, weights: cw.baseAddress!,
                                      pack: pack, classProd: classProds[worker], scratch: temp, into: prod + gi * Og * ld,
                                      narrow: narrowClasses ? (nf.baseAddress!, narrowA[worker], narrowC[worker]) : nil)
                    }
                } else if pointwiseRows {
                    for gi in 0..<G {
                        for i in 0..<nb {
                            let b = xp + (i0 + i) * inPer + gi * groupIn
                            if fusedEpilogue {
                                PackedMatrix.multiplyRows(m: Og, n: P, k: K, a: wp + gi * Og * K, lda: K, b: b, ldb: P,
                                                          c: finishedPlane(i, gi * Og), ldc: P, scratch: temp, panel: pack,
                                                          epilogue: epilogue(from: gi * Og))
                            } else {
                                PackedMatrix.multiplyRows(m: Og, n: P, k: K, a: wp + gi * Og * K, lda: K, b: b, ldb: P,
                                                          c: prod + gi * Og * ld + i * P, ldc: ld, scratch: temp, panel: pack)
                            }
                        }
                    }
                } else {
                    for gi in 0..<G {
                        // The columns go straight into the panels: pack(unfold(x)) without the column matrix.
                        Im2Col.unfoldPacked(xp + i0 * inPer + gi * groupIn, images: nb, inPer: inPer, g, into: pack, scratch: col)
                        if narrowDense {
                            Conv2d.narrowProduct(k: K, n: Og, columns: ld, b: pack, ldb: PackedMatrix.panelWidth,
                                                 filters: nf.baseAddress! + gi * PackedMatrix.packedCount(k: K, n: Og),
                                                 a: narrowA[worker], cT: narrowC[worker], scratch: temp, into: prod + gi * Og * ld, ldc: ld)
                        } else if fusedEpilogue {
                            PackedMatrix.multiply(m: Og, n: ld, k: K, a: wp + gi * Og * K, lda: K, packed: pack,
                                                  c: finishedPlane(0, gi * Og), ldc: P, scratch: temp, epilogue: epilogue(from: gi * Og))
                        } else {
                            PackedMatrix.multiply(m: Og, n: ld, k: K, a: wp + gi * Og * K, lda: K, packed: pack,
                                                  c: prod + gi * Og * ld, ldc: ld, scratch: temp)
                        }
                    }
                }
                for i in 0..<nb {
                    for o in o0..<o1 {
                        let src = prod + o * ld + i * P
                        let off = ((i0 + i) * O + o) * P
                        let b: Float = bp?[o] ?? 0
                        // The plane the pooling reads: the kept ReLU or convolution output, or scratch.
                        let act: UnsafeMutablePointer<Float>
                        if fusedEpilogue {
                            guard pg != nil else { continue }
                            act = finishedPlane(i, o)
                        } else if relu {
                            act = wantRelu ? rop! + off : temp
                            if wantConv {
                                let c = cop! + off
                                for p in 0..<P { let v = src[p] + b; c[p] = v; act[p] = v > 0 ? v : 0 }
                            } else {
                                for p in 0..<P { let v = src[p] + b; act[p] = v > 0 ? v : 0 }
                            }
                        } else if let clamp {
                            // The following clamp layer's expression (`Pointwise.compute`).
                            act = cop! + off
                            for p in 0..<P { act[p] = min(max(src[p] + b, clamp.low), clamp.high) }
                        } else {
                            act = wantConv ? cop! + off : temp
                            for p in 0..<P { act[p] = src[p] + b }
                        }
                        if let pg {
                            let poff = ((i0 + i) * O + o) * PP
                            MaxPool2d.poolPlane(act, pg, into: pop! + poff, argmax: wantArgmax ? amp! + poff : nil, noNaN: relu)
                        }
                    }
                }
            }
        } } } } } } } } }

        return BlockOutputs(conv: wantConv ? Tensor(shape: convShape, data: convOut) : nil,
                            relu: wantRelu ? Tensor(shape: convShape, data: reluOut) : nil,
                            pool: pool != nil ? Tensor(shape: poolShape, data: poolOut) : nil,
                            argmax: wantArgmax ? argmax : nil)
    }
}

/// An array of `count` floats whose contents the caller writes before reading.
@inline(__always)
func uninitialized(_ count: Int) -> [Float] {
    [Float](unsafeUninitializedCapacity: count) { _, c in c = count }
}
