import JSON

/// Reshape, Flatten, Unsqueeze, Squeeze, Transpose, Concat, Expand: folded on constants; on
/// computed tensors reshape/flatten/transpose/concat nodes that keep the batch as dimension 0.
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
            // [N·d1·…·d(axis-1), d(axis)·…]: the batch stays apart when d1 … d(axis-1) are all 1
            // (axis 1, or size-1 dimensions before the axis), as a reshape to [N, rest].
            let axis = a < 0 ? a + x.rank : a
            guard (0...x.rank).contains(axis) else { throw node.unsupported("axis \(a) is outside rank \(x.rank)") }
            guard axis > 0, x.item[..<(axis - 1)].allSatisfy({ $0 == 1 }) else {
                throw node.unsupported("axis \(a) merges the batch with dimensions \(axis == 0 ? "of the item" : "1..<\(axis) (sizes \(Array(x.item[..<(axis - 1)])))"); only an axis whose preceding dimensions besides the batch have size 1 keeps the batch apart")
            }
            let item = [x.item.reduce(1, *)]
            if axis == 1 {
                c.emit(node, "flatten", name: c.nodeName(node), inputs: [x.node], item: item)
            } else {
                c.emit(node, "reshape", name: c.nodeName(node), inputs: [x.node], [("shape", JSONValue(ints: [0] + item))], item: item)
            }
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
            if node.ints("perm") == [1, 0, 2], x.rank == 3 {
                // nn.MultiheadAttention's tokens-first layout: the whole attention imports batch-first.
                try AttentionImport.importAttention(c, node, input: x)
                return
            }
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
        // Computed tensors, and constants with a size-1 batch position (a ViT's class token after
        // its Expand over the batch), which the spec's concat broadcasts over the batch.
        let tensors = inputs.compactMap { v -> ComputedTensor? in if case let .computed(t) = v { return t }; return nil }
        let full = inputs.map { v -> [Int] in
            switch v {
            case let .computed(t): return [Broadcast.batch] + t.item
            case let .constant(k, _): return k.shape
            }
        }
        guard let axis = tensors[0].axis(a), axis > 0 else { throw node.unsupported("axis \(a) is the batch or outside rank \(tensors[0].rank)") }
        var shape = full[0]
        shape[0] = Broadcast.batch
        for (i, s) in full.enumerated() {
            guard s.count == shape.count, s[0] == Broadcast.batch || s[0] == 1 else {
                throw node.unsupported("input \(i) has shape \(s.map(Broadcast.describe)); a constant joins computed tensors with rank \(shape.count) and size 1 where they have the batch")
            }
            guard i > 0 else { continue }
            for d in s.indices where d != axis && s[d] != shape[d] {
                guard d == 0 else { throw node.unsupported("input shapes \(full.map { $0.map(Broadcast.describe) }) differ outside axis \(axis)") }
                shape[0] = Broadcast.batch
            }
            shape[axis] += s[axis]
        }
        let names = try inputs.indices.map { try c.nodeInput(node, $0) }
        c.emit(node, "concat", name: c.nodeName(node), inputs: names, [("dim", JSONValue(axis))], item: Array(shape.dropFirst()))
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

extension ONNXOperators {
    /// Expand: of a constant over the batch (a ViT's `class_token.expand(N, -1, -1)`, the shape
    /// holding the batch size at 0) it stays the constant, with size 1 there, which the spec's
    /// arithmetic and concat broadcast over the batch; it keeps its initializer (a trainable
    /// parameter) unless other dimensions grow too. A computed tensor expanded beyond its shape
    /// becomes an add of zeros of the target shape.
    static func expand(_ c: ImportContext, _ node: ONNXNode) throws {
        guard let target = try c.constant(node, 1), let raw = target.intValues, target.shape.count == 1, !raw.isEmpty else {
            throw node.unsupported("the shape must be a non-empty 1-D integer constant")
        }
        guard target.batchAt.isSubset(of: [0]) else { throw node.unsupported("puts the batch size at a dimension other than 0") }
        let overBatch = target.batchAt.contains(0)
        // A -1 elsewhere (PyTorch's "keep this size") broadcasts as 1 does.
        let requested = raw.enumerated().map { i, v in i == 0 && overBatch ? Broadcast.batch : v == -1 ? 1 : v }
        switch try c.required(node, 0) {
        case let .constant(k, initializer):
            // The batch position (the marked batch size, or the literal batch of a fixed-batch
            // export) stays 1: the spec broadcasts it over the batch.
            var stretch = requested
            if overBatch || (raw.count >= k.shape.count && c.exportBatch.map { raw[0] == $0 } ?? false) { stretch[0] = 1 }
            guard let shape = Broadcast.shape(k.shape, stretch) else { throw node.unsupported("\(k.shape) does not broadcast to \(requested.map(Broadcast.describe))") }
            guard shape.reduce(1, *) <= ONNXImporter.maxFoldedValues else { throw node.unsupported("expanding to \(shape) is too large to fold") }
            if shape == k.shape {
                c.setOutput(node, .constant(k, initializer: initializer))
            } else if shape.count > k.shape.count, Array(shape.suffix(k.shape.count)) == k.shape, shape.dropLast(k.shape.count).allSatisfy({ $0 == 1 }) {
                var out = k
                out.shape = shape
                c.setOutput(node, .constant(out, initializer: initializer))
            } else {
                guard k.batchAt.isEmpty else { throw node.unsupported("expands the batch size itself") }
                c.setOutput(node, .constant(k.taking(Broadcast.indices(from: k.shape, to: shape), shape: shape), initializer: nil))
            }
        case let .computed(x):
            let current = [Broadcast.batch] + x.item
            var fixed = requested
            if fixed.count == current.count, let b = c.exportBatch, fixed[0] == b { fixed[0] = Broadcast.batch }
            guard let shape = Broadcast.shape(current, fixed), shape.first == Broadcast.batch, shape.count == current.count else {
                throw node.unsupported("\(current.map(Broadcast.describe)) does not broadcast to \(requested.map(Broadcast.describe)) with the batch first")
            }
            guard shape != current else { return c.setOutput(node, .computed(x)) }
            let base = c.nodeName(node)
            let zeros = c.graph.uniqueName("\(base).zeros")
            let zeroShape = [1] + shape.dropFirst()
            c.graph.add(zeros, "constant", inputs: [], [("shape", JSONValue(ints: zeroShape))])
            c.graph.weight(zeros, shape: zeroShape, floats: [Float](repeating: 0, count: zeroShape.reduce(1, *)))
            c.emit(node, "add", name: base, inputs: [x.node, zeros], item: Array(shape.dropFirst()))
        }
    }
}
