import TensorEngine

/// torch.cat / ONNX Concat: values of equal shape but along `dim`, joined along it (a
/// DenseNet's or Inception's channel concatenation, a ViT's class token before the patches).
/// The batch is dim 0 and cannot be joined along. A value the same for every item (a
/// parameter such as the class token, [1, 1, D]) joins per-item values ([N, T, D]) as if
/// repeated for each item (torch's `class_token.expand(n, -1, -1)` before the cat); its
/// gradient sums over the items.
public final class Concat: GraphOperator {
    public let name: String
    public let dim: Int
    public var kind: String { "concat" }
    public var traceIndex = -1
    public var arity: ClosedRange<Int> { 1...Int.max }

    public init(name: String, dim: Int) {
        self.name = name
        self.dim = dim
    }

    public func outputShape(inputs: [[Int]]) throws -> [Int] {
        let rank = inputs[0].count
        let d = try GraphShape.axis(dim, rank: rank, name)
        guard d != 0 || !inputs.contains(where: GraphShape.isBatched) else {
            throw ModelError.shapeMismatch(layer: name, message: "cannot concatenate along the batch (dim \(dim))")
        }
        // The joined shape, with the batch wherever an input has it (a shared value's leading
        // 1 stands for it there).
        var out = inputs.first(where: GraphShape.isBatched) ?? inputs[0]
        out[d] = 0
        for (i, s) in inputs.enumerated() {
            let fits = s.count == rank && (0..<rank).allSatisfy { k in
                k == d || s[k] == out[k] || (k == 0 && s[0] == 1 && out[0] == GraphShape.batch)
            }
            guard fits else {
                throw ModelError.shapeMismatch(layer: name, message: "input \(i) has shape \(GraphShape.describe(s)), which differs from \(GraphShape.describe(inputs[0])) in a dimension other than dim \(dim)")
            }
            out[d] += s[d]
        }
        return out
    }

    /// The axis as an index, for a tensor of `rank`.
    private func axis(_ rank: Int) -> Int { dim < 0 ? dim + rank : dim }

    public func compute(_ inputs: [Tensor], _ run: Execution) -> Tensor {
        let d = axis(inputs[0].rank)
        var shape = inputs[0].shape
        shape[d] = inputs.reduce(0) { $0 + $1.shape[d] }
        if d != 0 { shape[0] = inputs.map { $0.shape[0] }.max()! }
        let outer = shape[..<d].reduce(1, *)
        let blocks = inputs.map { $0.shape[d...].reduce(1, *) }
        let row = blocks.reduce(0, +)
        return Tensor(uninitializedShape: shape) { o in
            var at = 0
            for (x, block) in zip(inputs, blocks) {
                // A shared input (leading 1 against the batch) repeats for every item.
                let own = x.shape[..<d].reduce(1, *)
                x.data.withUnsafeBufferPointer { xp in
                    for i in 0..<outer {
                        (o.baseAddress! + i * row + at).update(from: xp.baseAddress! + (i % own) * block, count: block)
                    }
                }
                at += block
            }
        }
    }

    public func gradients(_ dy: Tensor, inputs: [Tensor], output: Tensor, _ pass: BackwardPass, need: [Bool]) -> [Tensor?] {
        let d = axis(dy.rank)
        let outer = dy.shape[..<d].reduce(1, *)
        let row = dy.shape[d...].reduce(1, *)
        var at = 0
        return zip(inputs, need).map { x, needed in
            let block = x.shape[d...].reduce(1, *)
            defer { at += block }
            guard needed else { return nil }
            let start = at
            let own = x.shape[..<d].reduce(1, *)
            guard own != outer else {
                return Tensor(uninitializedShape: x.shape) { g in
                    dy.data.withUnsafeBufferPointer { dp in
                        for i in 0..<outer { (g.baseAddress! + i * block).update(from: dp.baseAddress! + i * row + start, count: block) }
                    }
                }
            }
            // Repeated for every item: the items' gradients sum.
            var g = Tensor(shape: x.shape)
            g.data.withUnsafeMutableBufferPointer { gp in
                dy.data.withUnsafeBufferPointer { dp in
                    for i in 0..<outer {
                        let target = gp.baseAddress! + (i % own) * block, source = dp.baseAddress! + i * row + start
                        for j in 0..<block { target[j] += source[j] }
                    }
                }
            }
            return g
        }
    }
}
