import TensorEngine

/// torch.cat / ONNX Concat: values of equal shape but along `dim`, joined along it (a
/// DenseNet's or Inception's channel concatenation, a ViT's class token before the patches).
/// The batch is dim 0 and cannot be joined along. Outside `dim` a size 1 broadcasts against
/// the others' size, the batch included: a `[1, 1, F]` class token joins `[N, T, F]` patches
/// as torch.cat of `class_token.expand(N, -1, -1)` does (ONNX's Expand then Concat), and its
/// gradient is the sum over what it was stretched along.
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
        for (i, s) in inputs.enumerated() {
            guard s.count == rank, s[d] != GraphShape.batch else {
                throw ModelError.shapeMismatch(layer: name, message: s.count == rank ? "cannot concatenate along the batch (dim \(dim))"
                    : "input \(i) has shape \(GraphShape.describe(s)), of another rank than \(GraphShape.describe(inputs[0]))")
            }
            guard i > 0 else { continue }
            for a in 0..<rank where a != d {
                if s[a] == out[a] || s[a] == 1 { continue }
                guard out[a] == 1 else {
                    throw ModelError.shapeMismatch(layer: name, message: "input \(i) has shape \(GraphShape.describe(s)), which differs from \(GraphShape.describe(out)) in a dimension other than dim \(dim) (where only a size 1 broadcasts)")
                }
                out[a] = s[a]
            }
            out[d] += s[d]
        }
        return out
    }

    /// The axis as an index, for a tensor of `rank`.
    private func axis(_ rank: Int) -> Int { dim < 0 ? dim + rank : dim }

    /// Each input's shape once broadcast: the joint size outside `d`, its own along `d`.
    private func broadcastShapes(_ shapes: [[Int]], _ d: Int) -> [[Int]] {
        var joint = shapes[0]
        for s in shapes { for a in s.indices where a != d { joint[a] = max(joint[a], s[a]) } }
        return shapes.map { s in
            var b = joint
            b[d] = s[d]
            return b
        }
    }

    public func compute(_ inputs: [Tensor], _ run: Execution) -> Tensor {
        let d = axis(inputs[0].rank)
        let shapes = broadcastShapes(inputs.map(\.shape), d)
        let inputs = zip(inputs, shapes).map { x, s in x.shape == s ? x : BroadcastLoops.apply(x, Tensor(shape: [1]), out: s, First.self) }
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
        let shapes = broadcastShapes(inputs.map(\.shape), d)
        let outer = dy.shape[..<d].reduce(1, *)
        let row = dy.shape[d...].reduce(1, *)
        var at = 0
        return zip(zip(inputs, shapes), need).map { pair, needed in
            let (x, shape) = pair
            let block = shape[d...].reduce(1, *)
            defer { at += block }
            guard needed else { return nil }
            let start = at
            let g = Tensor(uninitializedShape: shape) { g in
                dy.data.withUnsafeBufferPointer { dp in
                    for i in 0..<outer { (g.baseAddress! + i * block).update(from: dp.baseAddress! + i * row + start, count: block) }
                }
            }
            return shape == x.shape ? g : BroadcastLoops.reduce(g, to: x.shape)
        }
    }
}
