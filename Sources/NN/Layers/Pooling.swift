import CGEMM
import TensorEngine

/// Window geometry shared by the pooling layers (PyTorch semantics: padding on each side at
/// most half the kernel; with `ceil_mode` a last partial window when it starts inside the
/// input or the top/left padding).
private func poolGeometry(_ name: String, _ input: [Int], _ g: ConvGeometry) throws -> ConvGeometry {
    guard input.count == 3 else {
        throw ModelError.shapeMismatch(layer: name, message: "expects [C, H, W] input, got \(input)")
    }
    let pads = [g.padH, g.padW, g.padBottom, g.padRight]
    guard g.isValid, max(g.padH, g.padBottom) * 2 <= g.kernelH, max(g.padW, g.padRight) * 2 <= g.kernelW else {
        throw ModelError.shapeMismatch(layer: name, message: "window \([g.kernelH, g.kernelW]), stride \([g.strideH, g.strideW]), padding \(pads) does not fit input \(input) (padding may be at most half the kernel)")
    }
    return g
}

/// The options both pooling layers share, as the spec gives them.
public struct PoolWindow: Sendable {
    public var kernel: (Int, Int), stride: (Int, Int)
    /// (top, left, bottom, right).
    public var pads: (Int, Int, Int, Int)
    public var dilation: (Int, Int)
    public var ceilMode: Bool

    public init(kernel: (Int, Int), stride: (Int, Int), pads: (Int, Int, Int, Int) = (0, 0, 0, 0), dilation: (Int, Int) = (1, 1),
                ceilMode: Bool = false) {
        self.kernel = kernel
        self.stride = stride
        self.pads = pads
        self.dilation = dilation
        self.ceilMode = ceilMode
    }

    func geometry(channels: Int, height: Int, width: Int) -> ConvGeometry {
        ConvGeometry(channels: channels, height: height, width: width, kernel: kernel, stride: stride, pads: pads,
                     dilation: dilation, ceilMode: ceilMode)
    }
}

/// Max over each window; padding counts as -infinity. Saves, per output, the flat index of
/// the winning input in its plane (the first maximum on ties) so backward routes the
/// gradient there alone.
public final class MaxPool2d: LeafLayer {
    public let name: String
    public var kind: String { "maxpool2d" }
    public var traceIndex = -1
    public let window: PoolWindow
    public var kernel: (Int, Int) { window.kernel }
    public var stride: (Int, Int) { window.stride }
    /// Padding before the first row and column (top, left).
    public var padding: (Int, Int) { (window.pads.0, window.pads.1) }

    public init(name: String, kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int)) {
        self.name = name
        window = PoolWindow(kernel: kernel, stride: stride, pads: (padding.0, padding.1, padding.0, padding.1))
    }

    public init(name: String, window: PoolWindow) {
        self.name = name
        self.window = window
    }

    func geometry(channels: Int, height: Int, width: Int) -> ConvGeometry {
        window.geometry(channels: channels, height: height, width: width)
    }

    /// Whether the windows are 2×2 / stride 2 and tile the height×width plane's top-left
    /// (every window whole, none overlapping): the fast paths' case.
    func tilesTwoByTwo(height: Int, width: Int) -> Bool {
        let g = geometry(channels: 1, height: height, width: width)
        return g.kernelH == 2 && g.kernelW == 2 && g.strideH == 2 && g.strideW == 2 && g.dilationH == 1 && g.dilationW == 1
            && g.padH == 0 && g.padW == 0 && g.outH == height / 2 && g.outW == width / 2
    }

    public func outputShape(_ input: [Int]) throws -> [Int] {
        let g = try poolGeometry(name, input, geometry(channels: input.first ?? 0, height: input.count > 1 ? input[1] : 0,
                                                       width: input.count > 2 ? input[2] : 0))
        return [g.channels, g.outH, g.outW]
    }

    public func compute(_ x: Tensor, _ run: Execution) -> (Tensor, SavedState?) {
        let g = geometry(channels: x.shape[1], height: x.shape[2], width: x.shape[3])
        let planes = x.batch * g.channels
        let (HW, OP) = (g.height * g.width, g.patches)
        var argmax = [Int32](unsafeUninitializedCapacity: planes * OP) { _, c in c = planes * OP }
        let y = Tensor(uninitializedShape: [x.batch, g.channels, g.outH, g.outW]) { out in
            x.data.withUnsafeBufferPointer { xs in
                argmax.withUnsafeMutableBufferPointer { am in
                    let xp = xs.baseAddress!, op = out.baseAddress!, ap = am.baseAddress!
                    Parallel.forRanges(planes, grain: max(16, (1 << 16) / max(HW, 1))) { r in
                        for plane in r {
                            MaxPool2d.poolPlane(xp + plane * HW, g, into: op + plane * OP, argmax: ap + plane * OP)
                        }
                    }
                }
            }
        }
        return (y, .argmax(argmax))
    }

    /// Max pooling of one plane (`g.height`×`g.width` at `src`) into `dst` (`g.patches`
    /// values), with each winner's flat index in the plane when `argmax` is given.
    /// Windows are scanned row by row; a value wins when it is greater than the best so far
    /// (the first maximum on ties) or NaN (which then ends that window row's scan).
    /// `noNaN` promises the plane holds no NaN (a ReLU's output), which allows the vectorised
    /// kernel of `advlens_maxpool_plane` (16 windows at a time) with the same results.
    @inline(__always)
    static func poolPlane(_ src: UnsafePointer<Float>, _ g: ConvGeometry, into dst: UnsafeMutablePointer<Float>,
                          argmax: UnsafeMutablePointer<Int32>?, noNaN: Bool = false) {
        let (H, W, OH, OW) = (g.height, g.width, g.outH, g.outW)
        if noNaN {
            // Without NaN, "greater than the best so far" is the whole rule (`Sources/CGEMM/maxpool.c`).
            advlens_maxpool_plane(src, Int32(H), Int32(W), Int32(OH), Int32(OW), Int32(g.kernelH), Int32(g.kernelW),
                                  Int32(g.strideH), Int32(g.strideW), Int32(g.padH), Int32(g.padW), Int32(g.dilationH),
                                  Int32(g.dilationW), dst, argmax)
            return
        }
        let is2x2 = g.kernelH == 2 && g.kernelW == 2 && g.strideH == 2 && g.strideW == 2 && g.padH == 0 && g.padW == 0
            && g.dilationH == 1 && g.dilationW == 1 && 2 * OH <= H && 2 * OW <= W
        if is2x2 {
            // The common 2×2 / stride 2 window: always inside the plane, no bounds to clip.
            for oy in 0..<OH {
                let r0 = 2 * oy * W, r1 = r0 + W
                for ox in 0..<OW {
                    let c = 2 * ox
                    var best = -Float.infinity, at = r0 + c
                    let a = src[r0 + c], b = src[r0 + c + 1], d0 = src[r1 + c], d1 = src[r1 + c + 1]
                    if a > best || a.isNaN { best = a; at = r0 + c }
                    if !a.isNaN, b > best || b.isNaN { best = b; at = r0 + c + 1 }
                    if d0 > best || d0.isNaN { best = d0; at = r1 + c }
                    if !d0.isNaN, d1 > best || d1.isNaN { best = d1; at = r1 + c + 1 }
                    dst[oy * OW + ox] = best
                    if let argmax { argmax[oy * OW + ox] = Int32(at) }
                }
            }
            return
        }
        let (dh, dw) = (g.dilationH, g.dilationW)
        // Each output row's taps ki with row oy·s - top + ki·d inside the plane, [k0, k1), and
        // each output column's [j0, j1): worked out once per plane, not per window (four
        // divisions per window were most of ResNet's 3×3 / stride 2 stem pooling).
        withUnsafeTemporaryAllocation(of: (first: Int, end: Int, start: Int).self, capacity: OH + OW) { spans in
            for oy in 0..<OH {
                let r0 = oy * g.strideH - g.padH
                let k0 = r0 >= 0 ? 0 : (-r0 + dh - 1) / dh, k1 = min(g.kernelH, r0 >= H ? 0 : (H - 1 - r0) / dh + 1)
                spans[oy] = (k0, max(k0, k1), max(0, min(H - 1, r0 + k0 * dh)))
            }
            for ox in 0..<OW {
                let c0 = ox * g.strideW - g.padW
                let j0 = c0 >= 0 ? 0 : (-c0 + dw - 1) / dw, j1 = min(g.kernelW, c0 >= W ? 0 : (W - 1 - c0) / dw + 1)
                spans[OH + ox] = (j0, max(j0, j1), max(0, min(W - 1, c0 + j0 * dw)))
            }
            for oy in 0..<OH {
                let r0 = oy * g.strideH - g.padH
                let (k0, k1, firstRow) = spans[oy]
                for ox in 0..<OW {
                    let c0 = ox * g.strideW - g.padW
                    let (j0, j1, firstColumn) = spans[OH + ox]
                    var best = -Float.infinity, at = firstRow * W + firstColumn
                    for ki in k0..<k1 {
                        let row = (r0 + ki * dh) * W + c0
                        for kj in j0..<j1 where src[row + kj * dw] > best || src[row + kj * dw].isNaN {
                            best = src[row + kj * dw]; at = row + kj * dw
                            if best.isNaN { break }
                        }
                    }
                    dst[oy * OW + ox] = best
                    if let argmax { argmax[oy * OW + ox] = Int32(at) }
                }
            }
        }
    }

    public func gradient(_ dy: Tensor, input x: Tensor, output y: Tensor, saved: SavedState?,
                         _ pass: BackwardPass, needInput: Bool) -> Tensor? {
        guard needInput, case .argmax(let argmax)? = saved else { return nil }
        let plane = x.shape[2] * x.shape[3]
        let outPlane = dy.shape[2] * dy.shape[3]
        let planes = dy.count / max(outPlane, 1)
        let dx = Tensor(uninitializedShape: x.shape) { d in
            dy.data.withUnsafeBufferPointer { g in
                argmax.withUnsafeBufferPointer { am in
                    let dp = d.baseAddress!, gp = g.baseAddress!, ap = am.baseAddress!
                    Parallel.forRanges(planes, grain: max(16, (1 << 16) / max(plane, 1))) { r in
                        for p in r {
                            let dst = dp + p * plane, src = gp + p * outPlane, idx = ap + p * outPlane
                            dst.update(repeating: 0, count: plane)
                            for j in 0..<outPlane { dst[Int(idx[j])] += src[j] }
                        }
                    }
                }
            }
        }
        return dx
    }
}

/// Mean over each window, as PyTorch's AvgPool2d: with `countIncludePad` (PyTorch's default)
/// the divisor counts the padding inside the window (but not a ceil-mode window's part beyond
/// the bottom/right padding), without it only the input values.
public final class AvgPool2d: LeafLayer {
    public let name: String
    public var kind: String { "avgpool2d" }
    public var traceIndex = -1
    public let window: PoolWindow
    public let countIncludePad: Bool
    public var kernel: (Int, Int) { window.kernel }
    public var stride: (Int, Int) { window.stride }
    /// Padding before the first row and column (top, left).
    public var padding: (Int, Int) { (window.pads.0, window.pads.1) }

    public init(name: String, kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int)) {
        self.name = name
        window = PoolWindow(kernel: kernel, stride: stride, pads: (padding.0, padding.1, padding.0, padding.1))
        countIncludePad = true
    }

    public init(name: String, window: PoolWindow, countIncludePad: Bool) {
        self.name = name
        self.window = window
        self.countIncludePad = countIncludePad
    }

    func geometry(channels: Int, height: Int, width: Int) -> ConvGeometry {
        window.geometry(channels: channels, height: height, width: width)
    }

    public func outputShape(_ input: [Int]) throws -> [Int] {
        let g = try poolGeometry(name, input, geometry(channels: input.first ?? 0, height: input.count > 1 ? input[1] : 0,
                                                       width: input.count > 2 ? input[2] : 0))
        return [g.channels, g.outH, g.outW]
    }

    /// Each window's output index, input rows [y0, y1), columns [x0, x1), and 1 / divisor.
    private func windows(_ g: ConvGeometry, _ body: (Int, Int, Int, Int, Int, Float) -> Void) {
        for oy in 0..<g.outH {
            let top = oy * g.strideH - g.padH
            let y0 = max(0, top), y1 = min(g.height, top + g.kernelH)
            let rows = countIncludePad ? min(top + g.kernelH, g.height + g.padBottom) - top : y1 - y0
            for ox in 0..<g.outW {
                let left = ox * g.strideW - g.padW
                let x0 = max(0, left), x1 = min(g.width, left + g.kernelW)
                let cols = countIncludePad ? min(left + g.kernelW, g.width + g.padRight) - left : x1 - x0
                body(oy * g.outW + ox, y0, y1, x0, x1, 1 / Float(max(1, rows * cols)))
            }
        }
    }

    public func compute(_ x: Tensor, _ run: Execution) -> (Tensor, SavedState?) {
        let g = geometry(channels: x.shape[1], height: x.shape[2], width: x.shape[3])
        let planes = x.batch * g.channels
        let (H, W, OP) = (g.height, g.width, g.patches)
        let y = Tensor(uninitializedShape: [x.batch, g.channels, g.outH, g.outW]) { out in
            x.data.withUnsafeBufferPointer { xs in
                for plane in 0..<planes {
                    let src = xs.baseAddress! + plane * H * W, dst = out.baseAddress! + plane * OP
                    windows(g) { o, y0, y1, x0, x1, inv in
                        var s: Float = 0
                        for iy in y0..<y1 { for ix in x0..<x1 { s += src[iy * W + ix] } }
                        dst[o] = s * inv
                    }
                }
            }
        }
        return (y, nil)
    }

    public func gradient(_ dy: Tensor, input x: Tensor, output y: Tensor, saved: SavedState?,
                         _ pass: BackwardPass, needInput: Bool) -> Tensor? {
        guard needInput else { return nil }
        let g = geometry(channels: x.shape[1], height: x.shape[2], width: x.shape[3])
        let planes = x.batch * g.channels
        let (H, W, OP) = (g.height, g.width, g.patches)
        var dx = Tensor(shape: x.shape)
        dx.data.withUnsafeMutableBufferPointer { d in
            dy.data.withUnsafeBufferPointer { gs in
                for plane in 0..<planes {
                    let dst = d.baseAddress! + plane * H * W, src = gs.baseAddress! + plane * OP
                    windows(g) { o, y0, y1, x0, x1, inv in
                        let v = src[o] * inv
                        for iy in y0..<y1 { for ix in x0..<x1 { dst[iy * W + ix] += v } }
                    }
                }
            }
        }
        return dx
    }
}
