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
        let (H, W, OH, OW) = (g.height, g.width, g.outH, g.outW)
        var argmax = [Int32](repeating: 0, count: planes * OH * OW)
        let y = Tensor(uninitializedShape: [x.batch, g.channels, OH, OW]) { out in
            x.data.withUnsafeBufferPointer { xs in
                argmax.withUnsafeMutableBufferPointer { am in
                    Parallel.forRanges(planes, grain: 16) { r in
                        for plane in r {
                            let src = xs.baseAddress! + plane * H * W
                            let dst = out.baseAddress! + plane * OH * OW
                            let idx = am.baseAddress! + plane * OH * OW
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
                                    idx[oy * OW + ox] = Int32(at)
                                }
                            }
                        }
                    }
                }
            }
        }
        return (y, .argmax(argmax))
    }

    public func gradient(_ dy: Tensor, input x: Tensor, output y: Tensor, saved: SavedState?,
                         _ pass: BackwardPass, needInput: Bool) -> Tensor? {
        guard needInput, case .argmax(let argmax)? = saved else { return nil }
        let plane = x.shape[2] * x.shape[3]
        let outPlane = dy.shape[2] * dy.shape[3]
        var dx = Tensor(shape: x.shape)
        dx.data.withUnsafeMutableBufferPointer { d in
            dy.data.withUnsafeBufferPointer { g in
                argmax.withUnsafeBufferPointer { am in
                    for p in 0..<(dy.count / max(outPlane, 1)) {
                        let base = p * plane, o = p * outPlane
                        for j in 0..<outPlane { d[base + Int(am[o + j])] += g[o + j] }
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
