import Foundation
import TensorEngine

/// softmax(x) or log_softmax(x) along one axis (`dim`, the batch being dim 0), as
/// torch.softmax / torch.log_softmax and ONNX Softmax / LogSoftmax (opset 13). Computed with
/// the maximum subtracted, in Double sums, so large logits neither overflow nor lose the small
/// probabilities. Backward: softmax dx = y·(dy - Σ dy·y), log_softmax dx = dy - e^y·Σ dy.
public final class Softmax: LeafLayer {
    public let name: String
    public let dim: Int
    /// log_softmax rather than softmax.
    public let log: Bool
    public var kind: String { log ? "log_softmax" : "softmax" }
    public var traceIndex = -1

    public init(name: String, dim: Int, log: Bool) {
        self.name = name
        self.dim = dim
        self.log = log
    }

    public func outputShape(_ input: [Int]) throws -> [Int] {
        _ = try BatchAxes.resolve(dim, itemRank: input.count, layer: name, field: "dim")
        return input
    }

    /// (outer, length, inner) of the axis in a tensor of `shape`.
    func layout(_ shape: [Int]) -> (Int, Int, Int) {
        let a = dim < 0 ? dim + shape.count : dim
        return (shape[..<a].reduce(1, *), shape[a], shape[(a + 1)...].reduce(1, *))
    }

    public func compute(_ x: Tensor, _ run: Execution) -> (Tensor, SavedState?) {
        let (outer, len, inner) = layout(x.shape)
        let log = self.log
        let y = Tensor(uninitializedShape: x.shape) { out in
            x.data.withUnsafeBufferPointer { xs in
                let xp = xs.baseAddress!, op = out.baseAddress!
                Parallel.forRanges(outer * inner, grain: max(1, 4096 / max(len, 1))) { r in
                    for line in r {
                        let base = (line / inner) * len * inner + line % inner
                        var m = -Float.infinity
                        for k in 0..<len { m = max(m, xp[base + k * inner]) }
                        var s = 0.0
                        for k in 0..<len { s += Foundation.exp(Double(xp[base + k * inner] - m)) }
                        if log {
                            let ls = Float(Foundation.log(s))
                            for k in 0..<len { op[base + k * inner] = xp[base + k * inner] - m - ls }
                        } else {
                            let inv = 1 / s
                            for k in 0..<len { op[base + k * inner] = Float(Foundation.exp(Double(xp[base + k * inner] - m)) * inv) }
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
        let (outer, len, inner) = layout(x.shape)
        let log = self.log
        return Tensor(uninitializedShape: x.shape) { out in
            dy.data.withUnsafeBufferPointer { gs in
                y.data.withUnsafeBufferPointer { ys in
                    let gp = gs.baseAddress!, yp = ys.baseAddress!, op = out.baseAddress!
                    Parallel.forRanges(outer * inner, grain: max(1, 4096 / max(len, 1))) { r in
                        for line in r {
                            let base = (line / inner) * len * inner + line % inner
                            var s = 0.0
                            if log {
                                for k in 0..<len { s += Double(gp[base + k * inner]) }
                                for k in 0..<len {
                                    let i = base + k * inner
                                    op[i] = Float(Double(gp[i]) - Foundation.exp(Double(yp[i])) * s)
                                }
                            } else {
                                for k in 0..<len { s += Double(gp[base + k * inner]) * Double(yp[base + k * inner]) }
                                for k in 0..<len {
                                    let i = base + k * inner
                                    op[i] = Float(Double(yp[i]) * (Double(gp[i]) - s))
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
