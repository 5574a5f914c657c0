import JSON

/// Reshape, Flatten, Unsqueeze, Squeeze, Transpose, Concat: folded on constants; on computed
/// tensors reshape/flatten/transpose/concat nodes that keep the batch as dimension 0.
extension ONNXOperators {
    static func reshape(_ c: ImportContext, _ node: ONNXNode) throws {
        let data = try c.required(node, 0)
        guard let target = try c.constant(node, 1), let raw = target.intValues else { throw node.unsupported("the shape must be a constant") }
        guard raw.allSatisfy({ $0 >= -1 && $0 <= ONNXImporter.maxDimension }) else { throw node.unsupported("shape \(raw) holds a size below -1 or above \(ONNXImporter.maxDimension)") }
        guard node.int("allowzero", default: 0) == 0 || !raw.contains(0) else { throw node.unsupported("allowzero=1 with a 0 in the shape is not supported") }
        switch data {
        case let .constant(k, _):
            guard target.batchAt.isEmpty else { throw node.unsupported("reshapes a constant by the batch size") }
            let shape = try resolve(node, raw, from: k.shape)
            var out = k
            out.shape = shape
            c.setOutput(node, .constant(out, initializer: nil))
        case let .computed(x):
            guard !raw.isEmpty else { throw node.unsupported("reshaping to a scalar drops the batch") }
            guard target.batchAt.isSubset(of: [0]) else { throw node.unsupported("puts the batch size at a dimension other than 0") }
            var rest = Array(raw.dropFirst())
            for (i, v) in rest.enumerated() where v == 0 {
                guard i + 1 < x.rank else { throw node.unsupported("0 at dimension \(i + 1) copies a dimension the input lacks") }
                rest[i] = x.item[i]
            }
            let first = raw[0]
            let keepsBatch = target.batchAt.contains(0) || first == 0 || (c.exportBatch.map { first == $0 } ?? false)
            let item: [Int]
            if keepsBatch {
                item = try resolve(node, rest, from: x.item)
            } else if first == -1, !rest.contains(-1), rest.reduce(1, *) == x.item.reduce(1, *) {
                item = rest
            } else {
                throw node.unsupported("shape \(raw) does not keep the batch as dimension 0; export with a dynamic batch axis and view(x.size(0), ...)")
            }
            c.emit(node, "reshape", name: c.nodeName(node), inputs: [x.node], [("shape", JSONValue(ints: [0] + item))], item: item)
        }
    }

    /// ONNX reshape semantics on a known shape: 0 copies, -1 is inferred.
    static func resolve(_ node: ONNXNode, _ raw: [Int], from shape: [Int]) throws -> [Int] {
        var out = raw
        for (i, v) in raw.enumerated() where v == 0 {
            guard i < shape.count else { throw node.unsupported("0 at dimension \(i) copies a dimension the input lacks") }
            out[i] = shape[i]
        }
        let total = shape.reduce(1, *)
        let known = out.filter { $0 != -1 }.reduce(1, *)
        switch out.filter({ $0 == -1 }).count {
        case 0: break
        case 1:
            guard known > 0, total % known == 0 else { throw node.unsupported("cannot infer -1 in \(raw) from \(shape)") }
            out[out.firstIndex(of: -1)!] = total / known
        default: throw node.unsupported("more than one -1 in \(raw)")
        }
        guard out.allSatisfy({ $0 >= 0 }), out.reduce(1, *) == total else { throw node.unsupported("shape \(raw) does not hold the \(total) elements of \(shape)") }
        return out
    }

    static func flatten(_ c: ImportContext, _ node: ONNXNode) throws {
        let a = node.int("axis", default: 1)
        switch try c.required(node, 0) {
        case let .constant(k, _):
            let axis = a < 0 ? a + k.shape.count : a
            var out = k
            out.shape = [k.shape[..<axis].reduce(1, *), k.shape[axis...].reduce(1, *)]
            c.setOutput(node, .constant(out, initializer: nil))
        case let .computed(x):
            guard x.axis(a) == 1 else { throw node.unsupported("axis \(a) merges the batch with other dimensions; only axis 1 keeps it apart") }
            c.emit(node, "flatten", name: c.nodeName(node), inputs: [x.node], item: [x.item.reduce(1, *)])
        }
    }

    static func unsqueeze(_ c: ImportContext, _ node: ONNXNode) throws {
        guard let axes = try c.constantInts(node, 1) ?? node.ints("axes") else { throw node.unsupported("axes are required") }
        try reshaped(c, node) { shape in
            let rank = shape.count + axes.count
            let normalized = Set(axes.map { $0 < 0 ? $0 + rank : $0 })
            guard normalized.count == axes.count, normalized.allSatisfy({ (0..<rank).contains($0) }) else { return nil }
            var out: [Int] = [], source = shape.makeIterator()
            for d in 0..<rank { out.append(normalized.contains(d) ? 1 : source.next()!) }
            return out
        }
    }

    static func squeeze(_ c: ImportContext, _ node: ONNXNode) throws {
        let axes = try c.constantInts(node, 1) ?? node.ints("axes")
        try reshaped(c, node) { shape in
            let normalized = Set((axes ?? shape.indices.filter { shape[$0] == 1 }).map { $0 < 0 ? $0 + shape.count : $0 })
            guard normalized.allSatisfy({ shape.indices.contains($0) && shape[$0] == 1 }) else { return nil }
            return shape.indices.filter { !normalized.contains($0) }.map { shape[$0] }
        }
    }

    /// A shape change given as a function of the full shape (batch as `Broadcast.batch`): folded
    /// on constants (batch marks follow their elements), a reshape node on computed tensors.
    static func reshaped(_ c: ImportContext, _ node: ONNXNode, _ change: ([Int]) -> [Int]?) throws {
        switch try c.required(node, 0) {
        case let .constant(k, _):
            guard let shape = change(k.shape) else { throw node.unsupported("axes do not fit shape \(k.shape)") }
            var out = k
            out.shape = shape
            c.setOutput(node, .constant(out, initializer: nil))
        case let .computed(x):
            guard let shape = change([Broadcast.batch] + x.item), shape.first == Broadcast.batch,
                  shape.filter({ $0 == Broadcast.batch }).count == 1 else {
                throw node.unsupported("axes do not fit shape [batch, \(x.item.map(String.init).joined(separator: ", "))] or move the batch")
            }
            let item = Array(shape.dropFirst())
            c.emit(node, "reshape", name: c.nodeName(node), inputs: [x.node], [("shape", JSONValue(ints: [0] + item))], item: item)
        }
    }

    static func transpose(_ c: ImportContext, _ node: ONNXNode) throws {
        switch try c.required(node, 0) {
        case let .constant(k, _):
            let perm = node.ints("perm") ?? Array(k.shape.indices.reversed())
            guard perm.sorted() == Array(k.shape.indices) else { throw node.unsupported("perm \(perm) is not a permutation of rank \(k.shape.count)") }
            c.setOutput(node, .constant(k.transposed(perm), initializer: nil))
        case let .computed(x):
            guard let perm = node.ints("perm"), perm.sorted() == Array(0..<x.rank), perm[0] == 0 else {
                throw node.unsupported("perm \(node.ints("perm").map { "\($0)" } ?? "(reversed)") must keep the batch at dimension 0")
            }
            let item = perm.dropFirst().map { x.item[$0 - 1] }
            c.emit(node, "transpose", name: c.nodeName(node), inputs: [x.node], [("perm", JSONValue(ints: perm))], item: item)
        }
    }

    static func concat(_ c: ImportContext, _ node: ONNXNode) throws {
        let inputs = try node.proto.input.indices.map { try c.required(node, $0) }
        let a = node.int("axis", default: 0)
        let constants = inputs.compactMap { v -> ConstantTensor? in if case let .constant(k, _) = v { return k }; return nil }
        if constants.count == inputs.count {
            guard let first = constants.first else { throw node.unsupported("no inputs") }
            let rank = first.shape.count
            let axis = a < 0 ? a + rank : a
            guard (0..<rank).contains(axis), constants.allSatisfy({ $0.shape.count == rank }) else { throw node.unsupported("axis \(a) or ranks do not fit") }
            // Concatenation of constants: row-major blocks along `axis`.
            let outer = first.shape[..<axis].reduce(1, *)
            var shape = first.shape
            shape[axis] = constants.map { $0.shape[axis] }.reduce(0, +)
            for k in constants {
                var same = k.shape
                same[axis] = shape[axis]
                guard same == shape else { throw node.unsupported("shapes \(constants.map(\.shape)) differ outside axis \(axis)") }
            }
            let all = ConstantTensor.concatenated(constants, outer: outer, blocks: constants.map { $0.shape[axis...].reduce(1, *) })
            var out = all
            out.shape = shape
            c.setOutput(node, .constant(out, initializer: nil))
            return
        }
        guard constants.isEmpty else {
            throw node.unsupported("concatenates computed tensors with constants; only all-computed or all-constant inputs are supported")
        }
        let tensors = inputs.compactMap { v -> ComputedTensor? in if case let .computed(t) = v { return t }; return nil }
        guard let axis = tensors[0].axis(a), axis > 0 else { throw node.unsupported("axis \(a) is the batch or outside rank \(tensors[0].rank)") }
        var item = tensors[0].item
        for t in tensors.dropFirst() {
            var same = t.item
            same[axis - 1] = item[axis - 1]
            guard t.rank == tensors[0].rank, same == item else { throw node.unsupported("input shapes differ outside axis \(axis)") }
            item[axis - 1] += t.item[axis - 1]
        }
        c.emit(node, "concat", name: c.nodeName(node), inputs: tensors.map(\.node), [("dim", JSONValue(axis))], item: item)
    }
}

extension ConstantTensor {
    /// Tensors joined block-wise: for each of `outer` rows, each tensor's block of `blocks[i]` values in turn.
    static func concatenated(_ tensors: [ConstantTensor], outer: Int, blocks: [Int]) -> ConstantTensor {
        let integer = tensors.allSatisfy(\.isInteger)
        var floats: [Float] = [], ints: [Int] = [], batchAt: Set<Int> = []
        for o in 0..<outer {
            for (t, block) in zip(tensors, blocks) {
                for j in 0..<block {
                    let src = o * block + j
                    if t.batchAt.contains(src) { batchAt.insert(floats.count) }
                    floats.append(t.floats[src])
                    if integer { ints.append(t.ints![src]) }
                }
            }
        }
        var out = integer ? ConstantTensor(shape: [floats.count], ints: ints) : ConstantTensor(shape: [floats.count], floats: floats)
        out.batchAt = batchAt
        return out
    }
}
