import TensorEngine

/// Window geometry shared by the pooling layers (PyTorch semantics, ceil_mode off).
private func poolGeometry(_ name: String, _ input: [Int], kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int)) throws -> ConvGeometry {
    guard input.count == 3 else {
        throw ModelError.shapeMismatch(layer: name, message: "expects [C, H, W] input, got \(input)")
    }
    let g = ConvGeometry(channels: input[0], height: input[1], width: input[2], kernel: kernel, stride: stride, padding: padding)
    guard g.isValid, padding.0 * 2 <= kernel.0, padding.1 * 2 <= kernel.1 else {
        throw ModelError.shapeMismatch(layer: name, message: "window \(kernel), stride \(stride), padding \(padding) does not fit input \(input) (padding may be at most half the kernel)")
    }
    return g
}

/// Max over each window; padding counts as -infinity. Saves, per output, the flat index of
/// the winning input in its plane (the first maximum on ties) so backward routes the
/// gradient there alone.
public final class MaxPool2d: LeafLayer {
    public let name: String
    public var kind: String { "maxpool2d" }
    public var traceIndex = -1
    public let kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int)

    public init(name: String, kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int)) {
        self.name = name
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
    }

    public func outputShape(_ input: [Int]) throws -> [Int] {
        let g = try poolGeometry(name, input, kernel: kernel, stride: stride, padding: padding)
        return [g.channels, g.outH, g.outW]
    }

    public func compute(_ x: Tensor, _ run: Execution) -> (Tensor, SavedState?) {
        let g = ConvGeometry(channels: x.shape[1], height: x.shape[2], width: x.shape[3], kernel: kernel, stride: stride, padding: padding)
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
    /// `noNaN` promises the plane holds no NaN (a ReLU's output), which allows a branch-free
    /// form of the 2×2 / stride 2 window with the same results.
    @inline(__always)
    static func poolPlane(_ src: UnsafePointer<Float>, _ g: ConvGeometry, into dst: UnsafeMutablePointer<Float>,
                          argmax: UnsafeMutablePointer<Int32>?, noNaN: Bool = false) {
        let (H, W, OH, OW) = (g.height, g.width, g.outH, g.outW)
        let is2x2 = g.kernelH == 2 && g.kernelW == 2 && g.strideH == 2 && g.strideW == 2 && g.padH == 0 && g.padW == 0
        if is2x2 && noNaN {
            // Without NaN, "first maximum of a, b, then c, d in scan order" is the larger of the
            // two row winners, the first row on ties: selects, no branches.
            let w32 = Int32(W)
            // Four windows at a time: eight consecutive values of each row, split into the
            // windows' left (even) and right (odd) columns.
            let lanes = SIMD4<Int32>(0, 2, 4, 6)
            for oy in 0..<OH {
                let r0 = src + 2 * oy * W, r1 = r0 + W
                let out = dst + oy * OW
                let base = Int32(2 * oy * W)
                var ox = 0
                while ox + 4 <= OW && 2 * ox + 8 <= W {
                    let x0 = UnsafeRawPointer(r0 + 2 * ox).loadUnaligned(as: SIMD8<Float>.self)
                    let x1 = UnsafeRawPointer(r1 + 2 * ox).loadUnaligned(as: SIMD8<Float>.self)
                    let (a, b, c, d) = (x0.evenHalf, x0.oddHalf, x1.evenHalf, x1.oddHalf)
                    let tb = b .> a, td = d .> c
                    let m0 = a.replacing(with: b, where: tb), m1 = c.replacing(with: d, where: td)
                    let second = m1 .> m0
                    UnsafeMutableRawPointer(out + ox).storeBytes(of: m0.replacing(with: m1, where: second), as: SIMD4<Float>.self)
                    if let argmax {
                        let j0 = SIMD4<Int32>(repeating: 0).replacing(with: 1, where: tb)
                        let j1 = SIMD4<Int32>(repeating: w32).replacing(with: w32 + 1, where: td)
                        let at = SIMD4<Int32>(repeating: base + Int32(2 * ox)) &+ lanes &+ j0.replacing(with: j1, where: second)
                        UnsafeMutableRawPointer(argmax + oy * OW + ox).storeBytes(of: at, as: SIMD4<Int32>.self)
                    }
                    ox += 4
                }
                while ox < OW {
                    let a = r0[2 * ox], b = r0[2 * ox + 1], c = r1[2 * ox], d = r1[2 * ox + 1]
                    let m0 = b > a ? b : a, j0: Int32 = b > a ? 1 : 0
                    let m1 = d > c ? d : c, j1: Int32 = d > c ? w32 + 1 : w32
                    let second = m1 > m0
                    out[ox] = second ? m1 : m0
                    if let argmax { argmax[oy * OW + ox] = base + Int32(2 * ox) + (second ? j1 : j0) }
                    ox += 1
                }
            }
            return
        }
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
        for oy in 0..<OH {
            let y0 = max(0, oy * g.strideH - g.padH), y1 = min(H, oy * g.strideH - g.padH + g.kernelH)
            for ox in 0..<OW {
                let x0 = max(0, ox * g.strideW - g.padW), x1 = min(W, ox * g.strideW - g.padW + g.kernelW)
                var best = -Float.infinity, at = y0 * W + x0
                for iy in y0..<y1 {
                    for ix in x0..<x1 where src[iy * W + ix] > best || src[iy * W + ix].isNaN {
                        best = src[iy * W + ix]; at = iy * W + ix
                        if best.isNaN { break }
                    }
                }
                dst[oy * OW + ox] = best
                if let argmax { argmax[oy * OW + ox] = Int32(at) }
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

/// Mean over each window. Padding counts as zeros and the divisor is always kh·kw
/// (PyTorch's count_include_pad=True, its default).
public final class AvgPool2d: LeafLayer {
    public let name: String
    public var kind: String { "avgpool2d" }
    public var traceIndex = -1
    public let kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int)

    public init(name: String, kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int)) {
        self.name = name
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
    }

    public func outputShape(_ input: [Int]) throws -> [Int] {
        let g = try poolGeometry(name, input, kernel: kernel, stride: stride, padding: padding)
        return [g.channels, g.outH, g.outW]
    }

    private func windows(_ g: ConvGeometry, _ body: (Int, Int, Int, Int, Int) -> Void) {
        for oy in 0..<g.outH {
            let y0 = max(0, oy * g.strideH - g.padH), y1 = min(g.height, oy * g.strideH - g.padH + g.kernelH)
            for ox in 0..<g.outW {
                let x0 = max(0, ox * g.strideW - g.padW), x1 = min(g.width, ox * g.strideW - g.padW + g.kernelW)
                body(oy * g.outW + ox, y0, y1, x0, x1)
            }
        }
    }

    public func compute(_ x: Tensor, _ run: Execution) -> (Tensor, SavedState?) {
        let g = ConvGeometry(channels: x.shape[1], height: x.shape[2], width: x.shape[3], kernel: kernel, stride: stride, padding: padding)
        let planes = x.batch * g.channels
        let (H, W, OP) = (g.height, g.width, g.patches)
        let inv = 1 / Float(g.kernelH * g.kernelW)
        let y = Tensor(uninitializedShape: [x.batch, g.channels, g.outH, g.outW]) { out in
            x.data.withUnsafeBufferPointer { xs in
                for plane in 0..<planes {
                    let src = xs.baseAddress! + plane * H * W, dst = out.baseAddress! + plane * OP
                    windows(g) { o, y0, y1, x0, x1 in
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
        let g = ConvGeometry(channels: x.shape[1], height: x.shape[2], width: x.shape[3], kernel: kernel, stride: stride, padding: padding)
        let planes = x.batch * g.channels
        let (H, W, OP) = (g.height, g.width, g.patches)
        let inv = 1 / Float(g.kernelH * g.kernelW)
        var dx = Tensor(shape: x.shape)
        dx.data.withUnsafeMutableBufferPointer { d in
            dy.data.withUnsafeBufferPointer { gs in
                for plane in 0..<planes {
                    let dst = d.baseAddress! + plane * H * W, src = gs.baseAddress! + plane * OP
                    windows(g) { o, y0, y1, x0, x1 in
                        let v = src[o] * inv
                        for iy in y0..<y1 { for ix in x0..<x1 { dst[iy * W + ix] += v } }
                    }
                }
            }
        }
        return dx
    }
}
