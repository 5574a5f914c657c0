import JSON

/// nn.MultiheadAttention's self-attention (one packed in_proj, no mask) as PyTorch's exporters
/// write it inside a batch-first model: the tokens transposed to [T, N, D] (the batch at
/// dimension 1, which a graph spec cannot hold), projected by in_proj, split into q, k, v and
/// heads, scores q·kᵀ scaled, softmax over the keys, the context weights·v merged back from the
/// heads, out_proj, and transposed back to [N, T, D]. Found at its first Transpose (perm
/// [1, 0, 2]), the region up to the value equal to that last transpose imports as the
/// batch-first nodes `model/create`'s vit writes: `<module>.in_proj_weight` [3D, D] and
/// `<module>.in_proj_bias` (the state_dict's names), `.q`, `.k`, `.v` slices split into heads,
/// `.scores`, `.scaled`, `.weights`, `.context`, `.merged`, and the linear `<module>.out_proj`.
///
/// Why tracing and not node matching: the TorchScript and the dynamo exporter write the data
/// movement between the products differently (Unsqueeze/Transpose/Squeeze/Gather, reshapes
/// through [N·H, T, Dh], shape arithmetic on the batch size), and a version of either may write
/// it differently again. So the region is run at import, by the operators' own constant
/// folding, on tensors whose values are their own element indices, at a concrete batch size
/// (two sizes when the file's batch is dynamic); each product's operands are then checked
/// element by element against attention's layout (q, k and v the thirds of the projection,
/// each head consecutive features, the context merged head by head, the result back in batch
/// order). Whatever else the region does (a mask, separate q/k/v weights, a head shuffle, an
/// operator that is not data movement) is refused, naming the node.
enum AttentionImport {
    /// What the region computes, as found at one batch size.
    struct Match: Equatable {
        var heads: Int
        /// The factor on q·kᵀ before the softmax.
        var scale: Float
        /// in_proj and out_proj as nn.Linear holds them: [out, in].
        var inWeight: [Float]
        var inBias: [Float]?
        var outWeight: [Float]
        var outBias: [Float]?
        /// Initializer names, for the module path.
        var inBiasName: String?
        var outWeightName: String?
        /// The ONNX value equal to the attention's output [N, T, D], and the region's nodes.
        var output: String
        var nodes: Set<Int>
    }

    /// What a traced value holds: element indices of the entry, the projection, the context
    /// or out_proj's result, or the scores and weights (whose values do not matter), and the
    /// factor scalar Mul/Div nodes have put on it.
    private enum Role { case entry, projected, scores, weights, context, attended }
    private struct Traced {
        var role: Role
        var scale: Float = 1
    }

    static func importAttention(_ c: ImportContext, _ entry: ONNXNode, input x: ComputedTensor) throws {
        let batches = c.exportBatch.map { [$0] } ?? [2, 3]
        var found: Match?
        for n in batches {
            var m = try trace(c, entry, tokens: x.item[0], width: x.item[1], batch: n)
            if let f = found {
                // The same weights and region at every batch size; the scale may round apart.
                m.scale = abs(m.scale - f.scale) <= 1e-6 * abs(f.scale) ? f.scale : m.scale
                guard m == f else { throw refusal(entry, nil, "it computes differently at batch sizes \(batches[0]) and \(n)") }
            }
            found = m
        }
        emit(c, entry, input: x, found!)
    }

    static func refusal(_ entry: ONNXNode, _ node: ONNXNode?, _ why: String) -> ONNXError {
        let at = node.map { "at node \"\($0.label)\" (\($0.opType)): " } ?? ""
        return entry.unsupported("perm [1, 0, 2] moves the batch to dimension 1, which imports only as the start of nn.MultiheadAttention's self-attention (one in_proj, no mask), and this is not one: \(at)\(why)")
    }

    static func trace(_ c: ImportContext, _ entry: ONNXNode, tokens T: Int, width D: Int, batch n: Int) throws -> Match {
        guard T * n * 3 * D <= 1 << 24 else { throw refusal(entry, nil, "[\(T), \(n), \(3 * D)] is too large to check exactly") }
        let s = c.scratch(batch: n)
        var traced: [String: Traced] = [:]
        var region: Set<String> = []
        var nodes: Set<Int> = [entry.index]
        var heads: Int?, scale: Float = 1
        var inProjection: (value: String, weight: [Float], name: String?)?, inBias: (floats: [Float], name: String?)?
        var outProjection: (value: String, weight: [Float], name: String?, bias: [Float]?)?
        var output: String?

        func tensor(_ name: String) -> ConstantTensor {
            if case let .constant(t, _)? = s.values[name] { return t }
            return ConstantTensor(shape: [0], floats: [])
        }
        func set(_ name: String, _ t: ConstantTensor, _ role: Traced) {
            s.values[name] = .constant(t, initializer: nil)
            traced[name] = role
            region.insert(name)
        }
        func indices(_ shape: [Int]) -> ConstantTensor {
            ConstantTensor(shape: shape, floats: (0..<shape.reduce(1, *)).map { Float($0) })
        }
        func zeros(_ shape: [Int]) -> ConstantTensor {
            ConstantTensor(shape: shape, floats: [Float](repeating: 0, count: shape.reduce(1, *)))
        }
        /// q, k (transposed: [.., Dh, T]) or v of `heads` heads, as indices of the projection [T, n, 3D].
        func split(_ part: Int, heads h: Int, keys: Bool) -> [Float] {
            let dh = D / h
            var out: [Float] = []
            out.reserveCapacity(n * D * T)
            for b in 0..<n {
                for head in 0..<h {
                    for i in 0..<(keys ? dh : T) {
                        for j in 0..<(keys ? T : dh) {
                            let (t, d) = keys ? (j, i) : (i, j)
                            out.append(Float((t * n + b) * 3 * D + part * D + head * dh + d))
                        }
                    }
                }
            }
            return out
        }
        func headShaped(_ shape: [Int], _ h: Int, _ last2: [Int]) -> Bool {
            shape == [n, h] + last2 || shape == [n * h] + last2
        }

        set(entry.outputs[0], zeros([T, n, D]), Traced(role: .entry))
        for j in (entry.index + 1)..<c.nodes.count {
            let proto = c.nodes[j]
            let node = ONNXNode(proto: proto, label: proto.name.isEmpty ? "\(proto.opType) #\(j)" : proto.name, index: j)
            let ins = proto.input.filter { !$0.isEmpty }
            guard ins.contains(where: region.contains) else {
                // Outside the region: fold the constants it may read later.
                let constant = ins.allSatisfy { if case .constant? = s.values[$0] { return true } else { return false } }
                if output == nil, constant, let importer = ONNXOperators.registry[proto.opType] { try? importer(s, node) }
                continue
            }
            guard output == nil else { throw refusal(entry, node, "it reads a value inside the attention other than its output") }
            nodes.insert(j)
            func run() throws {
                guard let importer = ONNXOperators.registry[proto.opType] else { throw refusal(entry, node, "\(proto.opType) is not an operator of attention") }
                do { try importer(s, node) } catch let e as ONNXError { throw refusal(entry, node, "\(e)") }
                region.formUnion(proto.output.filter { !$0.isEmpty })
            }
            let tracedInputs = ins.filter { traced[$0] != nil }
            guard let first = tracedInputs.first, let t = traced[first] else {
                try run() // shape arithmetic on the region's sizes
                continue
            }
            let out = proto.output[0]
            switch proto.opType {
            case "Reshape", "Transpose", "Unsqueeze", "Squeeze", "Gather", "Slice", "Flatten", "Identity":
                guard tracedInputs == [proto.input[0]] else { throw refusal(entry, node, "only its data input may come from the attention") }
                try run()
                traced[out] = t
                let v = tensor(out)
                if t.role == .attended, v.shape == [n, T, D] {
                    var expected: [Float] = []
                    for b in 0..<n { for i in 0..<T { for e in 0..<D { expected.append(Float((i * n + b) * D + e)) } } }
                    if v.floats == expected {
                        output = out
                        region.remove(out)
                    }
                }
            case "Shape":
                try run()
            case "MatMul" where tracedInputs.count == 2:
                let (a, b) = (traced[proto.input[0]], traced[proto.input[1]])
                let (ta, tb) = (tensor(proto.input[0]), tensor(proto.input[1]))
                switch (a?.role, b?.role) {
                case (.projected?, .projected?) where heads == nil:
                    let h = ta.shape.count == 4 ? ta.shape[1] : (ta.shape.first ?? 0) / n
                    guard h > 0, D % h == 0, headShaped(ta.shape, h, [T, D / h]), headShaped(tb.shape, h, [D / h, T]),
                          ta.floats == split(0, heads: h, keys: false), tb.floats == split(1, heads: h, keys: true) else {
                        throw refusal(entry, node, "its operands \(ta.shape) and \(tb.shape) are not q and kᵀ split into heads from the thirds of in_proj")
                    }
                    heads = h
                    scale = a!.scale * b!.scale
                    set(out, zeros(Array(ta.shape.dropLast()) + [T]), Traced(role: .scores))
                case (.weights?, .projected?):
                    guard let h = heads, a!.scale == 1, b!.scale == 1, headShaped(tb.shape, h, [T, D / h]),
                          tb.floats == split(2, heads: h, keys: false) else {
                        throw refusal(entry, node, "its right operand \(tb.shape) is not v split into heads (unscaled) from the last third of in_proj")
                    }
                    set(out, indices(Array(ta.shape.dropLast()) + [D / h]), Traced(role: .context))
                default:
                    throw refusal(entry, node, "a product other than q·kᵀ and weights·v")
                }
            case "MatMul", "Gemm":
                guard tracedInputs == [proto.input[0]], proto.input.count >= 2,
                      case let .constant(w, wName)? = s.values[proto.input[1]], w.shape.count == 2, !w.isInteger else {
                    throw refusal(entry, node, "a projection must multiply by a constant matrix")
                }
                var weight = w.transposed([1, 0])
                var bias: [Float]?
                if proto.opType == "Gemm" {
                    guard node.int("transA", default: 0) == 0, node.float("alpha", default: 1) == 1, node.float("beta", default: 1) == 1 else {
                        throw refusal(entry, node, "only transA=0, alpha=1, beta=1")
                    }
                    if node.int("transB", default: 0) != 0 { weight = w }
                    if proto.input.count > 2, !proto.input[2].isEmpty {
                        guard case let .constant(k, _)? = s.values[proto.input[2]], k.count == weight.shape[0] else { throw refusal(entry, node, "C must be a constant vector") }
                        bias = k.floats
                    }
                }
                let x = tensor(proto.input[0])
                switch t.role {
                case .entry where inProjection == nil:
                    guard weight.shape == [3 * D, D], x.shape == [T, n, D] else { throw refusal(entry, node, "in_proj must map [\(T), batch, \(D)] by a [\(D), \(3 * D)] matrix") }
                    inProjection = (out, weight.floats, wName)
                    if let bias { inBias = (bias, nil) }
                    set(out, indices([T, n, 3 * D]), Traced(role: .projected))
                case .context where outProjection == nil:
                    guard let h = heads, t.scale == 1, weight.shape == [D, D], x.shape == [T * n, D] || x.shape == [T, n, D] else {
                        throw refusal(entry, node, "out_proj must map the merged context [\(T), batch, \(D)] by a [\(D), \(D)] matrix")
                    }
                    let dh = D / h
                    var merged: [Float] = []
                    for i in 0..<T { for b in 0..<n { for head in 0..<h { for d in 0..<dh { merged.append(Float(((b * h + head) * T + i) * dh + d)) } } } }
                    guard x.floats == merged else { throw refusal(entry, node, "its input is not the context merged back from the heads in token, batch order") }
                    outProjection = (out, weight.floats, wName, bias)
                    set(out, indices(x.shape), Traced(role: .attended))
                default:
                    throw refusal(entry, node, "a projection other than in_proj and out_proj")
                }
            case "Add":
                guard tracedInputs.count == 1, let other = ins.first(where: { $0 != first }), case let .constant(k, name)? = s.values[other], !k.isInteger else {
                    throw refusal(entry, node, "an addition inside the attention (a mask?) other than the projections' biases")
                }
                if let p = inProjection, first == p.value, inBias == nil, k.shape == [3 * D] {
                    inBias = (k.floats, name)
                } else if let p = outProjection, first == p.value, p.bias == nil, k.shape == [D] {
                    outProjection!.bias = k.floats
                } else {
                    throw refusal(entry, node, "an addition inside the attention (a mask?) other than the projections' biases")
                }
                set(out, tensor(first), t)
            case "Mul", "Div":
                guard tracedInputs.count == 1, proto.opType == "Mul" || first == proto.input[0],
                      let other = ins.first(where: { $0 != first }), case let .constant(k, _)? = s.values[other], k.count == 1, !k.isInteger,
                      t.role == .projected || t.role == .scores else {
                    throw refusal(entry, node, "only q, k or the scores may be scaled, by a constant number")
                }
                let f = k.floats[0]
                set(out, tensor(first), Traced(role: t.role, scale: proto.opType == "Mul" ? t.scale * f : t.scale / f))
            case "Softmax":
                let rank = tensor(first).shape.count
                guard t.role == .scores, [-1, rank - 1].contains(node.int("axis", default: -1)) else {
                    throw refusal(entry, node, "the softmax must be over the keys of the scores")
                }
                scale *= t.scale
                set(out, zeros(tensor(first).shape), Traced(role: .weights))
            default:
                throw refusal(entry, node, "\(proto.opType) is not an operator of attention")
            }
        }
        guard let inProjection else { throw refusal(entry, nil, "no in_proj (a MatMul of its tokens by a constant [\(D), \(3 * D)] matrix) reads it") }
        guard let heads else { throw refusal(entry, nil, "no q·kᵀ product follows in_proj") }
        guard let outProjection else { throw refusal(entry, nil, "no out_proj (a [\(D), \(D)] projection of the merged context) follows the attention") }
        guard let output else { throw refusal(entry, nil, "out_proj's result is never transposed back to [batch, \(T), \(D)]") }
        if let leak = region.first(where: c.graphOutputs.contains) { throw refusal(entry, nil, "the graph output \"\(leak)\" is inside it") }
        return Match(heads: heads, scale: scale, inWeight: inProjection.weight, inBias: inBias?.floats,
                     outWeight: outProjection.weight, outBias: outProjection.bias, inBiasName: inBias?.name,
                     outWeightName: outProjection.name, output: output, nodes: nodes)
    }

    /// The batch-first nodes of the attention, as VisionTransformer writes them, under the
    /// module path of nn.MultiheadAttention's initializers (else the Transpose's scope).
    static func emit(_ c: ImportContext, _ entry: ONNXNode, input x: ComputedTensor, _ m: Match) {
        let (T, D, h) = (x.item[0], x.item[1], m.heads)
        let dh = D / h
        func module(_ name: String?, _ suffix: String) -> String? {
            guard let name, name.hasSuffix(suffix) else { return nil }
            let path = String(name.dropLast(suffix.count))
            return NodeNames.isModulePath(path) ? path : nil
        }
        let scope = entry.proto.name.contains("/") ? NodeNames.candidates(onnxName: entry.proto.name, opType: "Transpose").first : nil
        // Exporters share one initializer among equal tensors, so a path may be taken already.
        let paths = [module(m.inBiasName, ".in_proj_bias"), module(m.outWeightName, ".out_proj.weight"), scope].compactMap { $0 }
        let a = paths.first { !c.graph.isUsed("\($0).in_proj_weight") } ?? "attention"
        let g = { (suffix: String) in c.graph.uniqueName("\(a).\(suffix)") }
        let ints = { (v: [Int]) in JSONValue(ints: v) }

        let weight = c.graph.add(g("in_proj_weight"), "parameter", inputs: [], [("shape", ints([3 * D, D]))])
        c.graph.weight(weight, shape: [3 * D, D], floats: m.inWeight)
        let bias = c.graph.add(g("in_proj_bias"), "parameter", inputs: [], [("shape", ints([3 * D]))])
        c.graph.weight(bias, shape: [3 * D], floats: m.inBias ?? [Float](repeating: 0, count: 3 * D))
        let columns = c.graph.add(g("input_t"), "transpose", inputs: [x.node], [("perm", ints([0, 2, 1]))])
        let product = c.graph.add(g("in_proj"), "matmul", inputs: [weight, columns])
        let rows = c.graph.add(g("in_proj_t"), "transpose", inputs: [product], [("perm", ints([0, 2, 1]))])
        let qkv = c.graph.add(g("qkv"), "add", inputs: [rows, bias])
        var parts: [String] = []
        for (j, part) in ["q", "k", "v"].enumerated() {
            let slice = c.graph.add(g(part), "slice", inputs: [qkv], [("dim", JSONValue(2)), ("start", JSONValue(j * D)), ("end", JSONValue((j + 1) * D)), ("step", JSONValue(1))])
            let split = c.graph.add(g("\(part)_heads"), "reshape", inputs: [slice], [("shape", ints([0, T, h, dh]))])
            parts.append(c.graph.add(g("\(part)_t"), "transpose", inputs: [split], [("perm", ints(part == "k" ? [0, 2, 3, 1] : [0, 2, 1, 3]))]))
        }
        var scores = c.graph.add(g("scores"), "matmul", inputs: [parts[0], parts[1]])
        if m.scale != 1 { scores = c.graph.add(g("scaled"), "mul", inputs: [scores], [("value", JSONValue(float: m.scale))]) }
        let weights = c.graph.add(g("weights"), "softmax", inputs: [scores], [("dim", JSONValue(-1))])
        let context = c.graph.add(g("context"), "matmul", inputs: [weights, parts[2]])
        let back = c.graph.add(g("context_t"), "transpose", inputs: [context], [("perm", ints([0, 2, 1, 3]))])
        let merged = c.graph.add(g("merged"), "reshape", inputs: [back], [("shape", ints([0, T, D]))])
        let out = g("out_proj")
        ONNXOperators.emitLinear(c, entry, name: out, input: ComputedTensor(node: merged, item: [T, D]),
                                 weight: m.outWeight, inFeatures: D, outFeatures: D, bias: m.outBias)
        c.values[entry.outputs[0]] = nil // the tokens-first value, read only inside the region
        c.skipped.formUnion(m.nodes)
        c.values[m.output] = .computed(ComputedTensor(node: out, item: [T, D]))
    }
}
