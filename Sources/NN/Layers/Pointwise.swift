import TensorEngine

/// An element-wise activation layer: y = f(x), dx = f'(x)·dy, for the `PointwiseFunction`s
/// (leaky_relu, sigmoid, tanh, hardtanh/relu6, hardsigmoid, hardswish, silu, gelu). ReLU keeps
/// its own faster layer. Why a layer over a function table: the forward, backward, tracing and
/// threading are the same for every such function; only the scalar maths differ.
public final class Pointwise: LeafLayer {
    public let name: String
    public let function: PointwiseFunction
    public var kind: String { function.kind }
    public var traceIndex = -1

    public init(name: String, function: PointwiseFunction) {
        self.name = name
        self.function = function
    }

    public func outputShape(_ input: [Int]) throws -> [Int] { input }

    /// Elements worth a thread of their own (transcendental functions cost more than ReLU).
    static let grain = 1 << 15

    public func compute(_ x: Tensor, _ run: Execution) -> (Tensor, SavedState?) {
        let n = x.count, f = function
        let y = Tensor(uninitializedShape: x.shape) { out in
            x.data.withUnsafeBufferPointer { xs in
                let xp = xs.baseAddress!, o = out.baseAddress!
                switch f {
                case let .hardtanh(low, high), let .clip(low, high):
                    // ReLU6 / Clip (MobileNet's every expand and depthwise layer): the same
                    // expression as `value`, without its per-element dispatch and Double
                    // conversion, which made these layers cost more than the convolutions.
                    Parallel.forRanges(n, grain: ReLU.grain) { r in
                        for i in r { o[i] = min(max(xp[i], low), high) }
                    }
                default:
                    Parallel.forRanges(n, grain: Pointwise.grain) { r in
                        for i in r { o[i] = f.value(xp[i]) }
                    }
                }
            }
        }
        return (y, nil)
    }

    public func gradient(_ dy: Tensor, input x: Tensor, output y: Tensor, saved: SavedState?,
                         _ pass: BackwardPass, needInput: Bool) -> Tensor? {
        guard needInput else { return nil }
        let n = dy.count, f = function
        return Tensor(uninitializedShape: dy.shape) { out in
            dy.data.withUnsafeBufferPointer { d in
                x.data.withUnsafeBufferPointer { xs in
                    let dp = d.baseAddress!, xp = xs.baseAddress!, o = out.baseAddress!
                    switch f {
                    case let .hardtanh(low, high):
                        // The same products as `derivative`, without its per-element dispatch.
                        Parallel.forRanges(n, grain: ReLU.grain) { r in
                            for i in r { o[i] = (xp[i] > low && xp[i] < high ? 1 : 0) * dp[i] }
                        }
                    case let .clip(low, high):
                        Parallel.forRanges(n, grain: ReLU.grain) { r in
                            for i in r { o[i] = (xp[i] >= low && xp[i] <= high ? 1 : 0) * dp[i] }
                        }
                    default:
                        Parallel.forRanges(n, grain: Pointwise.grain) { r in
                            for i in r { o[i] = f.derivative(xp[i]) * dp[i] }
                        }
                    }
                }
            }
        }
    }
}
