import TensorEngine

/// The mean over some axes (`dim`, batch at 0 and never among them), keeping them as size 1
/// when `keepdim`, as torch.mean and ONNX ReduceMean: global average pooling is dim [2, 3],
/// a ViT's token average dim [1]. Backward spreads each output gradient evenly over the
/// values it averaged.
public final class Mean: LeafLayer {
    public let name: String
    public var kind: String { "mean" }
    public var traceIndex = -1
    public let dims: [Int]
    public let keepdim: Bool

    public init(name: String, dims: [Int], keepdim: Bool) {
        self.name = name
        self.dims = dims
        self.keepdim = keepdim
    }

    /// The reduced full-tensor axes for items of rank `itemRank`.
    func axes(itemRank: Int) throws -> Set<Int> {
        let a = try dims.map { try BatchAxes.resolve($0, itemRank: itemRank, layer: name, field: "dim") }
        guard Set(a).count == a.count else {
            throw ModelError.shapeMismatch(layer: name, message: "dim \(dims) names an axis twice")
        }
        return Set(a)
    }

    public func outputShape(_ input: [Int]) throws -> [Int] {
        let reduced = try axes(itemRank: input.count)
        return input.enumerated().compactMap { i, n in reduced.contains(i + 1) ? (keepdim ? 1 : nil) : n }
    }

    /// The input's shape with reduced axes at size 1, and the number of values per mean.
    private func plan(_ shape: [Int]) -> ([Int], Int) {
        let reduced = (try? axes(itemRank: shape.count - 1)) ?? []
        let kept = shape.enumerated().map { reduced.contains($0) ? 1 : $1 }
        return (kept, shape.count == 0 ? 1 : shape.reduce(1, *) / max(kept.reduce(1, *), 1))
    }

    public func compute(_ x: Tensor, _ run: Execution) -> (Tensor, SavedState?) {
        let (kept, n) = plan(x.shape)
        // Output strides with 0 on reduced axes: every input position adds to its mean.
        let outStrides = zip(BatchAxes.strides(kept), kept).map { $1 == 1 ? 0 : $0 }
        var sums = [Double](repeating: 0, count: kept.reduce(1, *))
        x.data.withUnsafeBufferPointer { xs in
            BatchAxes.forEach(x.shape, inStrides: outStrides) { i, o in sums[o] += Double(xs[i]) }
        }
        let inv = 1 / Double(n)
        let outShape = [x.batch] + ((try? outputShape(Array(x.shape.dropFirst()))) ?? [])
        return (Tensor(shape: outShape, data: sums.map { Float($0 * inv) }), nil)
    }

    public func gradient(_ dy: Tensor, input x: Tensor, output y: Tensor, saved: SavedState?,
                         _ pass: BackwardPass, needInput: Bool) -> Tensor? {
        guard needInput else { return nil }
        let (kept, n) = plan(x.shape)
        let outStrides = zip(BatchAxes.strides(kept), kept).map { $1 == 1 ? 0 : $0 }
        let inv = 1 / Float(n)
        return Tensor(uninitializedShape: x.shape) { d in
            dy.data.withUnsafeBufferPointer { g in
                BatchAxes.forEach(x.shape, inStrides: outStrides) { i, o in d[i] = g[o] * inv }
            }
        }
    }
}
