import TensorEngine

/// 2-D convolution (cross-correlation, as PyTorch): weight [out, in, kh, kw], bias [out].
///
/// Forward: images are unfolded by im2col side by side into one column matrix per chunk of
/// the batch, multiplied by the filter matrix in one GEMM, and the [out, chunk·patches]
/// result is scattered into NCHW with the bias added. Chunks keep the column matrix near
/// `columnBudget` floats so it stays in cache-friendly sizes however large the batch.
/// Backward: dW = dY·colᵀ (im2col recomputed rather than stored), db = row sums of dY,
/// dX = col2im(Wᵀ·dY). Only the gradients asked for are computed.
public final class Conv2d: LeafLayer {
    public let name: String
    public var kind: String { "conv2d" }
    public var traceIndex = -1
    public let inChannels: Int, outChannels: Int
    public let kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int)
    public let weight: Parameter
    public let bias: Parameter?
    public var parameters: [Parameter] { bias.map { [weight, $0] } ?? [weight] }

    /// Floats of im2col columns per chunk (4 Mi floats = 16 MiB).
    static let columnBudget = 1 << 22

    public init(name: String, inChannels: Int, outChannels: Int, kernel: (Int, Int), stride: (Int, Int),
                padding: (Int, Int), bias: Bool) {
        self.name = name
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        weight = Parameter(name: name + ".weight", value: Tensor(shape: [outChannels, inChannels, kernel.0, kernel.1]))
        self.bias = bias ? Parameter(name: name + ".bias", value: Tensor(shape: [outChannels])) : nil
    }

    func geometry(_ item: [Int]) -> ConvGeometry {
        ConvGeometry(channels: item[0], height: item[1], width: item[2], kernel: kernel, stride: stride, padding: padding)
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
            throw ModelError.shapeMismatch(layer: name, message: "kernel \(kernel) with stride \(stride) and padding \(padding) does not fit input \(input)")
        }
        return [outChannels, g.outH, g.outW]
    }

    private func chunkSize(_ g: ConvGeometry, batch: Int) -> Int {
        max(1, min(batch, Conv2d.columnBudget / max(1, g.columnRows * g.patches)))
    }

    public func compute(_ x: Tensor, _ run: Execution) -> (Tensor, SavedState?) {
        let n = x.batch
        let g = geometry(Array(x.shape.dropFirst()))
        let (K, P, O) = (g.columnRows, g.patches, outChannels)
        let inPer = g.channels * g.height * g.width
        let chunk = chunkSize(g, batch: n)
        let col = run.workspace.buffer(0, count: K * chunk * P)
        let product = run.workspace.buffer(1, count: O * chunk * P)
        let y = Tensor(uninitializedShape: [n, O, g.outH, g.outW]) { out in
            x.data.withUnsafeBufferPointer { xs in
                weight.value.data.withUnsafeBufferPointer { w in
                    let b = bias?.value.data
                    for n0 in Swift.stride(from: 0, to: n, by: chunk) {
                        let nb = min(chunk, n - n0)
                        let ld = nb * P
                        Parallel.forRanges(nb) { r in
                            for i in r { Im2Col.unfold(xs.baseAddress! + (n0 + i) * inPer, g, into: col + i * P, ldcol: ld) }
                        }
                        BLAS.sgemm(m: O, n: ld, k: K, a: w.baseAddress!, lda: K, b: col, ldb: ld, c: product, ldc: ld)
                        // [O, nb·P] -> [nb, O, P], adding the bias.
                        Parallel.forRanges(nb * O, grain: 64) { r in
                            for j in r {
                                let i = j / O, o = j % O
                                let src = product + o * ld + i * P
                                let dst = out.baseAddress! + ((n0 + i) * O + o) * P
                                let bo: Float = b?[o] ?? 0
                                for p in 0..<P { dst[p] = src[p] + bo }
                            }
                        }
                    }
                }
            }
        }
        return (y, nil)
    }

    public func gradient(_ dy: Tensor, input x: Tensor, output y: Tensor, saved: SavedState?,
                         _ pass: BackwardPass, needInput: Bool) -> Tensor? {
        let wantParams = pass.wantParameters
        guard wantParams || needInput else { return nil }
        let n = x.batch
        let g = geometry(Array(x.shape.dropFirst()))
        let (K, P, O) = (g.columnRows, g.patches, outChannels)
        let inPer = g.channels * g.height * g.width
        let chunk = chunkSize(g, batch: n)
        let ws = pass.execution.workspace
        let col = ws.buffer(0, count: K * chunk * P)
        let dyT = ws.buffer(1, count: O * chunk * P)
        var dW = wantParams ? Tensor(shape: weight.value.shape) : Tensor(shape: [0])
        var db = (wantParams && bias != nil) ? Tensor(shape: [O]) : Tensor(shape: [0])
        var dx = needInput ? Tensor(shape: x.shape) : Tensor(shape: [0])

        dy.data.withUnsafeBufferPointer { dys in
            x.data.withUnsafeBufferPointer { xs in
                weight.value.data.withUnsafeBufferPointer { w in
                    dW.data.withUnsafeMutableBufferPointer { dWp in
                        db.data.withUnsafeMutableBufferPointer { dbp in
                            dx.data.withUnsafeMutableBufferPointer { dxp in
                                for n0 in Swift.stride(from: 0, to: n, by: chunk) {
                                    let nb = min(chunk, n - n0)
                                    let ld = nb * P
                                    // [nb, O, P] -> [O, nb·P]
                                    Parallel.forRanges(nb * O, grain: 64) { r in
                                        for j in r {
                                            let i = j / O, o = j % O
                                            (dyT + o * ld + i * P).update(from: dys.baseAddress! + ((n0 + i) * O + o) * P, count: P)
                                        }
                                    }
                                    if wantParams {
                                        Parallel.forRanges(nb) { r in
                                            for i in r { Im2Col.unfold(xs.baseAddress! + (n0 + i) * inPer, g, into: col + i * P, ldcol: ld) }
                                        }
                                        BLAS.sgemm(transB: true, m: O, n: K, k: ld, a: dyT, lda: ld, b: col, ldb: ld,
                                                   beta: 1, c: dWp.baseAddress!, ldc: K)
                                        if bias != nil {
                                            for o in 0..<O {
                                                var s: Float = 0
                                                let row = dyT + o * ld
                                                for p in 0..<ld { s += row[p] }
                                                dbp[o] += s
                                            }
                                        }
                                    }
                                    if needInput {
                                        // The column gradient reuses the column buffer.
                                        BLAS.sgemm(transA: true, m: K, n: ld, k: O, a: w.baseAddress!, lda: K, b: dyT, ldb: ld,
                                                   c: col, ldc: ld)
                                        Parallel.forRanges(nb) { r in
                                            for i in r { Im2Col.fold(col + i * P, ldcol: ld, g, into: dxp.baseAddress! + (n0 + i) * inPer) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        if wantParams {
            pass.gradients.accumulate(weight, dW)
            if let bias { pass.gradients.accumulate(bias, db) }
        }
        return needInput ? dx : nil
    }
}
