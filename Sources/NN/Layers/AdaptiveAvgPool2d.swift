import TensorEngine

/// Average over adaptive windows, as PyTorch's AdaptiveAvgPool2d: output row i of `outH`
/// averages input rows floor(i·H/outH) ..< ceil((i+1)·H/outH), columns likewise, so any input
/// size gives the chosen output size (torchvision's classifiers end with it; (1, 1) is global
/// average pooling). Why its own layer: the windows vary in size and overlap, which the fixed
/// window geometry of `AvgPool2d` cannot express.
public final class AdaptiveAvgPool2d: LeafLayer {
    public let name: String
    public var kind: String { "adaptiveavgpool2d" }
    public var traceIndex = -1
    public let output: (Int, Int)

    public init(name: String, output: (Int, Int)) {
        self.name = name
        self.output = output
    }

    public func outputShape(_ input: [Int]) throws -> [Int] {
        guard input.count == 3 else {
            throw ModelError.shapeMismatch(layer: name, message: "expects [C, H, W] input, got \(input)")
        }
        return [input[0], output.0, output.1]
    }

    /// Input positions start ..< end of output position `i` of `out` over `size` inputs.
    @inline(__always)
    static func window(_ i: Int, _ out: Int, _ size: Int) -> Range<Int> {
        (i * size / out)..<(((i + 1) * size + out - 1) / out)
    }

    public func compute(_ x: Tensor, _ run: Execution) -> (Tensor, SavedState?) {
        let (h, w) = (x.shape[2], x.shape[3]), (oh, ow) = output
        let planes = x.batch * x.shape[1]
        let y = Tensor(uninitializedShape: [x.batch, x.shape[1], oh, ow]) { out in
            x.data.withUnsafeBufferPointer { xs in
                let xp = xs.baseAddress!, op = out.baseAddress!
                Parallel.forRanges(planes, grain: max(1, (1 << 16) / max(h * w, 1))) { r in
                    for plane in r {
                        let src = xp + plane * h * w, dst = op + plane * oh * ow
                        for i in 0..<oh {
                            let rows = Self.window(i, oh, h)
                            for j in 0..<ow {
                                let cols = Self.window(j, ow, w)
                                var sum: Float = 0
                                for yy in rows { for xx in cols { sum += src[yy * w + xx] } }
                                dst[i * ow + j] = sum / Float(rows.count * cols.count)
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
        guard needInput else { return nil }
        let (h, w) = (x.shape[2], x.shape[3]), (oh, ow) = output
        let planes = x.batch * x.shape[1]
        var dx = Tensor(shape: x.shape)
        dx.data.withUnsafeMutableBufferPointer { dxs in
            dy.data.withUnsafeBufferPointer { dys in
                let dp = dxs.baseAddress!, gp = dys.baseAddress!
                Parallel.forRanges(planes, grain: max(1, (1 << 16) / max(h * w, 1))) { r in
                    for plane in r {
                        let dst = dp + plane * h * w, g = gp + plane * oh * ow
                        for i in 0..<oh {
                            let rows = Self.window(i, oh, h)
                            for j in 0..<ow {
                                let cols = Self.window(j, ow, w)
                                let share = g[i * ow + j] / Float(rows.count * cols.count)
                                for yy in rows { for xx in cols { dst[yy * w + xx] += share } }
                            }
                        }
                    }
                }
            }
        }
        return dx
    }
}
