import TensorEngine

/// torch.cat / ONNX Concat: values of equal shape but along `dim`, joined along it (a
/// DenseNet's or Inception's channel concatenation, a ViT's class token before the patches).
/// The batch is dim 0 and cannot be joined along.
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
        var out = inputs[0]
        for (i, s) in inputs.enumerated().dropFirst() {
            guard s.count == rank, (0..<rank).allSatisfy({ $0 == d || s[$0] == out[$0] }) else {
                throw ModelError.shapeMismatch(layer: name, message: "input \(i) has shape \(GraphShape.describe(s)), which differs from \(GraphShape.describe(inputs[0])) in a dimension other than dim \(dim)")
            }
            out[d] += s[d]
        }
        guard inputs[0][d] != GraphShape.batch else {
            throw ModelError.shapeMismatch(layer: name, message: "cannot concatenate along the batch (dim \(dim))")
        }
        return out
    }

    /// The axis as an index, for a tensor of `rank`.
    private func axis(_ rank: Int) -> Int { dim < 0 ? dim + rank : dim }

    public func compute(_ inputs: [Tensor], _ run: Execution) -> Tensor {
        let d = axis(inputs[0].rank)
        var shape = inputs[0].shape
        shape[d] = inputs.reduce(0) { $0 + $1.shape[d] }
        let outer = shape[..<d].reduce(1, *)
        let blocks = inputs.map { $0.shape[d...].reduce(1, *) }
        let row = blocks.reduce(0, +)
        return Tensor(uninitializedShape: shape) { o in
            var at = 0
            for (x, block) in zip(inputs, blocks) {
                x.data.withUnsafeBufferPointer { xp in
                    for i in 0..<outer {
                        (o.baseAddress! + i * row + at).update(from: xp.baseAddress! + i * block, count: block)
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
            return Tensor(uninitializedShape: x.shape) { g in
                dy.data.withUnsafeBufferPointer { dp in
                    for i in 0..<outer { (g.baseAddress! + i * block).update(from: dp.baseAddress! + i * row + start, count: block) }
                }
            }
        }
    }
}
