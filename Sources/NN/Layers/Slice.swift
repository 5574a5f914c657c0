import TensorEngine

/// Every `step`-th index in [start, end) of one axis (`dim`, not the batch), as Python's
/// x[:, start:end:step] and ONNX Slice with one axis: negative start/end count from the end,
/// and both are clamped to the axis as Python clamps them (so end may be a large number).
/// Backward places the gradient at the read positions, zero elsewhere.
public final class Slice: LeafLayer {
    public let name: String
    public var kind: String { "slice" }
    public var traceIndex = -1
    public let dim: Int, start: Int, end: Int, step: Int
    /// The per-item input shape the model was built with (receptive fields need the axis
    /// length a negative or clamped start was resolved against).
    public private(set) var inputShape: [Int]?

    public init(name: String, dim: Int, start: Int, end: Int, step: Int) {
        self.name = name
        self.dim = dim
        self.start = start
        self.end = end
        self.step = step
    }

    /// The first index and the count taken from an axis of `n`.
    public func range(_ n: Int) -> (Int, Int) {
        func clamp(_ v: Int) -> Int { min(max(v < 0 ? v + n : v, 0), n) }
        let (a, b) = (clamp(start), clamp(end))
        return (a, b > a ? (b - a + step - 1) / step : 0)
    }

    public func outputShape(_ input: [Int]) throws -> [Int] {
        let a = try BatchAxes.resolve(dim, itemRank: input.count, layer: name, field: "dim")
        let (_, count) = range(input[a - 1])
        guard count > 0 else {
            throw ModelError.shapeMismatch(layer: name, message: "start \(start), end \(end) select nothing of dimension \(a) (size \(input[a - 1]))")
        }
        var out = input
        out[a - 1] = count
        inputShape = input
        return out
    }

    /// (outer, axis length, inner, first, count) for a tensor of `shape`.
    private func layout(_ shape: [Int]) -> (Int, Int, Int, Int, Int) {
        let a = dim < 0 ? dim + shape.count : dim
        let (first, count) = range(shape[a])
        return (shape[..<a].reduce(1, *), shape[a], shape[(a + 1)...].reduce(1, *), first, count)
    }

    public func compute(_ x: Tensor, _ run: Execution) -> (Tensor, SavedState?) {
        let (outer, len, inner, first, count) = layout(x.shape)
        var shape = x.shape
        shape[dim < 0 ? dim + shape.count : dim] = count
        let y = Tensor(uninitializedShape: shape) { out in
            x.data.withUnsafeBufferPointer { xs in
                for o in 0..<outer {
                    for k in 0..<count {
                        (out.baseAddress! + (o * count + k) * inner)
                            .update(from: xs.baseAddress! + (o * len + first + k * step) * inner, count: inner)
                    }
                }
            }
        }
        return (y, nil)
    }

    public func gradient(_ dy: Tensor, input x: Tensor, output y: Tensor, saved: SavedState?,
                         _ pass: BackwardPass, needInput: Bool) -> Tensor? {
        guard needInput else { return nil }
        let (outer, len, inner, first, count) = layout(x.shape)
        var dx = Tensor(shape: x.shape)
        dx.data.withUnsafeMutableBufferPointer { d in
            dy.data.withUnsafeBufferPointer { g in
                for o in 0..<outer {
                    for k in 0..<count {
                        (d.baseAddress! + (o * len + first + k * step) * inner)
                            .update(from: g.baseAddress! + (o * count + k) * inner, count: inner)
                    }
                }
            }
        }
        return dx
    }
}
