import Foundation

/// Constant, Shape and ConstantOfShape: tensors known at import. Shape of a computed tensor is
/// known but for its dimension 0, the batch size, which is marked and carried along.
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
}
