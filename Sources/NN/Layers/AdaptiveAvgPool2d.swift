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

    /// Each output position's flat index in its plane and its input rows and columns.
    @inline(__always)
    static func forEachWindow(_ output: (Int, Int), _ h: Int, _ w: Int, _ body: (Int, Range<Int>, Range<Int>) -> Void) {
        for i in 0..<output.0 {
            let rows = window(i, output.0, h)
            for j in 0..<output.1 { body(i * output.1 + j, rows, window(j, output.1, w)) }
        }
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
                        Self.forEachWindow(output, h, w) { o, rows, cols in
                            var sum: Float = 0
                            for yy in rows { for xx in cols { sum += src[yy * w + xx] } }
                            dst[o] = sum / Float(rows.count * cols.count)
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
                        Self.forEachWindow(output, h, w) { o, rows, cols in
                            let share = g[o] / Float(rows.count * cols.count)
                            for yy in rows { for xx in cols { dst[yy * w + xx] += share } }
                        }
                    }
                }
            }
        }
        return dx
    }
}
