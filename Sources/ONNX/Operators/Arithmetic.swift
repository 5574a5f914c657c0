import JSON

/// Add, Sub, Mul, Div: folded when both sides are constants (the shape arithmetic of exporters,
/// refused where it computes with the batch size); else add/sub/mul/div nodes, a constant side
/// becoming a `constant` (or `parameter`) node, broadcast as numpy does over the full shape.
extension ONNXOperators {
    static func binary(_ c: ImportContext, _ node: ONNXNode, type: String, _ op: @escaping (Double, Double) -> Double) throws {
        let a = try c.required(node, 0), b = try c.required(node, 1)
        if case let .constant(ca, _) = a, case let .constant(cb, _) = b {
            c.setOutput(node, .constant(try fold(node, ca, cb, op), initializer: nil))
            return
        }
        let shapes = [a, b].map { v -> [Int] in
            switch v {
            case let .computed(t): return [Broadcast.batch] + t.item
            case let .constant(k, _): return k.shape
            }
        }
        guard let full = Broadcast.shape(shapes[0], shapes[1]), full.first == Broadcast.batch else {
            throw node.unsupported("shapes \(shapes[0].map(Broadcast.describe)) and \(shapes[1].map(Broadcast.describe)) do not broadcast with the batch first")
        }
        let inputs = [try c.nodeInput(node, 0), try c.nodeInput(node, 1)]
        c.emit(node, type, name: c.nodeName(node), inputs: inputs, item: Array(full.dropFirst()))
    }

    /// Elementwise arithmetic on two constants with numpy broadcasting; integers stay integers
    /// (Div truncates, as ONNX's integer Div).
    static func fold(_ node: ONNXNode, _ a: ConstantTensor, _ b: ConstantTensor, _ op: (Double, Double) -> Double) throws -> ConstantTensor {
        guard a.batchAt.isEmpty, b.batchAt.isEmpty else {
            throw node.unsupported("computes with the batch size, a dynamic shape this import cannot resolve; export with a fixed batch size or reshape with -1")
        }
        guard let shape = Broadcast.shape(a.shape, b.shape) else { throw node.unsupported("constant shapes \(a.shape) and \(b.shape) do not broadcast") }
        guard shape.reduce(1, { $0 * $1 }) <= ONNXImporter.maxFoldedValues else { throw node.unsupported("folding \(shape) is too large") }
        let ia = Broadcast.indices(from: a.shape, to: shape), ib = Broadcast.indices(from: b.shape, to: shape)
        if let xa = a.ints, let xb = b.ints {
            return ConstantTensor(shape: shape, ints: zip(ia, ib).map { Int(op(Double(xa[$0]), Double(xb[$1])).rounded(.towardZero)) })
        }
        return ConstantTensor(shape: shape, floats: zip(ia, ib).map { Float(op(Double(a.floats[$0]), Double(b.floats[$1]))) })
    }
}

/// Numpy broadcasting over full shapes in which `batch` stands for the run-time batch size.
enum Broadcast {
    static let batch = -1

    static func describe(_ d: Int) -> String { d == batch ? "batch" : String(d) }

    static func shape(_ a: [Int], _ b: [Int]) -> [Int]? {
        let rank = max(a.count, b.count)
        let pa = [Int](repeating: 1, count: rank - a.count) + a, pb = [Int](repeating: 1, count: rank - b.count) + b
        var out: [Int] = []
        for (x, y) in zip(pa, pb) {
            if x == y || y == 1 { out.append(x) } else if x == 1 { out.append(y) } else { return nil }
        }
        return out
    }

    /// For each element of `shape`, the flat index of the element of a tensor of `from` it reads.
    static func indices(from: [Int], to shape: [Int]) -> [Int] {
        let padded = [Int](repeating: 1, count: shape.count - from.count) + from
        let strides = ConstantTensor.strides(padded)
        return ConstantTensor.offsets(shape, strides: padded.indices.map { padded[$0] == 1 ? 0 : strides[$0] })
    }
}
