import Foundation

/// Constant, Shape and ConstantOfShape: tensors known at import. Shape of a computed tensor is
/// known but for its dimension 0, the batch size, which is marked and carried along. Equal,
/// Where, Mod and Sqrt on constants: the rest of exporters' shape arithmetic (PyTorch writes
/// `expand(n, -1, -1)` as Where(Equal(shape, -1), 1, shape), and attention's scale as the Sqrt
/// of a size).
extension ONNXOperators {
    static func constantNode(_ c: ImportContext, _ node: ONNXNode) throws {
        let label = node.outputs.first ?? node.label
        let value: ConstantTensor
        if let t = node.attribute("value") {
            value = try ConstantTensor(t.t, name: label)
        } else if let a = node.attribute("value_float") {
            value = ConstantTensor(shape: [], floats: [a.f])
        } else if let a = node.attribute("value_floats") {
            value = ConstantTensor(shape: [a.floats.count], floats: a.floats)
        } else if let a = node.attribute("value_int") {
            value = ConstantTensor(shape: [], ints: [Int(a.i)])
        } else if let a = node.attribute("value_ints") {
            value = ConstantTensor(shape: [a.ints.count], ints: a.ints.map { Int($0) })
        } else {
            throw node.unsupported("no value, value_float(s) or value_int(s) attribute (sparse and string constants are not read)")
        }
        c.setOutput(node, .constant(value, initializer: nil))
    }

    static func shape(_ c: ImportContext, _ node: ONNXNode) throws {
        var dims: [Int], batchAt: Set<Int> = []
        switch try c.required(node, 0) {
        case let .computed(x):
            dims = [0] + x.item
            batchAt = [0]
        case let .constant(k, _): dims = k.shape
        }
        let rank = dims.count
        func clamp(_ v: Int) -> Int { min(max(v < 0 ? v + rank : v, 0), rank) }
        let start = clamp(node.int("start", default: 0)), end = clamp(node.int("end", default: rank))
        let range = start < end ? Array(start..<end) : []
        c.setOutput(node, .constant(ConstantTensor(shape: [range.count], ints: range.map { dims[$0] },
                                                   batchAt: Set(range.indices.filter { batchAt.contains(range[$0]) })), initializer: nil))
    }

    static func constantOfShape(_ c: ImportContext, _ node: ONNXNode) throws {
        guard let shape = try c.constantInts(node, 0), shape.allSatisfy({ $0 >= 0 && $0 <= ONNXImporter.maxDimension }) else {
            throw node.unsupported("the shape must be constants from 0 to \(ONNXImporter.maxDimension)")
        }
        let (count, overflow) = shape.reduce((1, false)) { acc, d in
            let (p, o) = acc.0.multipliedReportingOverflow(by: d)
            return (p, acc.1 || o)
        }
        guard !overflow, count <= ONNXImporter.maxFoldedValues else { throw node.unsupported("shape \(shape) is too large to fold") }
        var fill = ConstantTensor(shape: [1], floats: [0])
        if let t = node.attribute("value") { fill = try ConstantTensor(t.t, name: node.label) }
        guard fill.count == 1 else { throw node.unsupported("value must hold one element") }
        if let i = fill.ints {
            c.setOutput(node, .constant(ConstantTensor(shape: shape, ints: [Int](repeating: i[0], count: count)), initializer: nil))
        } else {
            c.setOutput(node, .constant(ConstantTensor(shape: shape, floats: [Float](repeating: fill.floats[0], count: count)), initializer: nil))
        }
    }

    /// Equal of constants, as 0/1 integers. A batch size compared with a size below 1 is
    /// unequal (a batch has at least one item); with another size it is unknown, refused.
    static func equal(_ c: ImportContext, _ node: ONNXNode) throws {
        guard case let .constant(a, _) = try c.required(node, 0), case let .constant(b, _) = try c.required(node, 1) else {
            throw node.unsupported("only Equal of constants (shape arithmetic) is supported")
        }
        guard let shape = Broadcast.shape(a.shape, b.shape) else { throw node.unsupported("shapes \(a.shape) and \(b.shape) do not broadcast") }
        let ia = Broadcast.indices(from: a.shape, to: shape), ib = Broadcast.indices(from: b.shape, to: shape)
        let out = try zip(ia, ib).map { i, j -> Int in
            switch (a.batchAt.contains(i), b.batchAt.contains(j)) {
            case (false, false): return a.floats[i] == b.floats[j] ? 1 : 0
            case (true, false) where b.floats[j] < 1, (false, true) where a.floats[i] < 1: return 0
            default: throw node.unsupported("compares the batch size, unknown at import, with a size")
            }
        }
        c.setOutput(node, .constant(ConstantTensor(shape: shape, ints: out), initializer: nil))
    }

    /// Where of constants: each element from X where the condition holds, else from Y, the
    /// batch size's marks following the elements picked.
    static func whereNode(_ c: ImportContext, _ node: ONNXNode) throws {
        guard case let .constant(cond, _) = try c.required(node, 0), case let .constant(x, _) = try c.required(node, 1),
              case let .constant(y, _) = try c.required(node, 2) else {
            throw node.unsupported("only Where of constants (shape arithmetic) is supported")
        }
        guard cond.batchAt.isEmpty else { throw node.unsupported("the condition depends on the batch size") }
        guard let xy = Broadcast.shape(x.shape, y.shape), let shape = Broadcast.shape(cond.shape, xy) else {
            throw node.unsupported("shapes \(cond.shape), \(x.shape) and \(y.shape) do not broadcast")
        }
        let ic = Broadcast.indices(from: cond.shape, to: shape), ix = Broadcast.indices(from: x.shape, to: shape), iy = Broadcast.indices(from: y.shape, to: shape)
        let picks = ic.indices.map { cond.floats[ic[$0]] != 0 ? (x, ix[$0]) : (y, iy[$0]) }
        var out: ConstantTensor
        if x.isInteger, y.isInteger {
            out = ConstantTensor(shape: shape, ints: picks.map { $0.0.ints![$0.1] })
        } else {
            out = ConstantTensor(shape: shape, floats: picks.map { $0.0.floats[$0.1] })
        }
        out.batchAt = Set(picks.indices.filter { picks[$0].0.batchAt.contains(picks[$0].1) })
        c.setOutput(node, .constant(out, initializer: nil))
    }

    /// Mod of constants: the sign of the divisor (Python's %) with fmod=0, C's fmod with fmod=1.
    static func mod(_ c: ImportContext, _ node: ONNXNode) throws {
        guard case let .constant(a, _) = try c.required(node, 0), case let .constant(b, _) = try c.required(node, 1) else {
            throw node.unsupported("only Mod of constants (shape arithmetic) is supported")
        }
        let cMod = node.int("fmod", default: 0) != 0
        guard !b.floats.contains(0) else { throw node.unsupported("divides by zero") }
        c.setOutput(node, .constant(try fold(node, a, b) { x, y in cMod ? fmod(x, y) : x - y * (x / y).rounded(.down) }, initializer: nil))
    }

    /// Sqrt of a constant (a head size's square root); a computed one outside LayerNorm's pattern is refused.
    static func sqrtNode(_ c: ImportContext, _ node: ONNXNode) throws {
        guard case let .constant(k, _) = try c.required(node, 0) else {
            throw node.unsupported("Sqrt of a computed tensor is supported only inside LayerNorm's pattern (ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div)")
        }
        guard k.batchAt.isEmpty else { throw node.unsupported("computes with the batch size") }
        c.setOutput(node, .constant(ConstantTensor(shape: k.shape, floats: k.floats.map { $0.squareRoot() }), initializer: nil))
    }
}
