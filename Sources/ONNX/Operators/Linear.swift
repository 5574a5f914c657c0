import JSON

/// Gemm and MatMul with a constant weight → linear (weight [out, in] as nn.Linear holds it:
/// transB=0, alpha and beta applied to the constants at import); MatMul followed by the Add of a
/// constant bias (PyTorch's export of nn.Linear on inputs of rank > 2) → one linear with bias;
/// MatMul of two computed tensors (or a constant left side) → matmul.
extension ONNXOperators {
    static func gemm(_ c: ImportContext, _ node: ONNXNode) throws {
        let x = try c.computed(node, 0)
        guard x.rank == 2 else { throw node.unsupported("input A must have rank 2, got \(x.rank)") }
        guard node.int("transA", default: 0) == 0 else { throw node.unsupported("transA=1 (a transposed input) is not supported") }
        guard let b = try c.constant(node, 1), b.shape.count == 2 else { throw node.unsupported("B must be a constant matrix (a weight)") }
        var weight = node.int("transB", default: 0) != 0 ? b : b.transposed([1, 0])
        let (outF, inF) = (weight.shape[0], weight.shape[1])
        guard inF == x.item[0] else { throw node.unsupported("B has \(inF) input features; the input has \(x.item[0])") }
        let alpha = node.float("alpha", default: 1), beta = node.float("beta", default: 1)
        if alpha != 1 { weight.floats = weight.floats.map { $0 * alpha } }
        var bias: [Float]?
        if let cTensor = try c.constant(node, 2) {
            switch cTensor.count {
            case outF: bias = cTensor.floats
            case 1: bias = [Float](repeating: cTensor.floats[0], count: outF)
            default: throw node.unsupported("C of shape \(cTensor.shape) does not broadcast to [\(outF)] per item")
            }
            if beta != 1 { bias = bias!.map { $0 * beta } }
        }
        let name = c.nodeName(node, parameters: [c.initializerName(node, 1), bias == nil ? nil : c.initializerName(node, 2)])
        emitLinear(c, node, name: name, input: x, weight: weight.floats, inFeatures: inF, outFeatures: outF, bias: bias)
    }

    static func matMul(_ c: ImportContext, _ node: ONNXNode) throws {
        let a = try c.required(node, 0), b = try c.required(node, 1)
        switch (a, b) {
        case let (.constant(ca, _), .constant(cb, _)):
            throw node.unsupported("the product of two constants \(ca.shape) × \(cb.shape) is not folded")
        case let (.computed(x), .constant(w, _)) where w.shape.count == 2:
            guard w.shape[0] == x.item.last else { throw node.unsupported("weight \(w.shape) does not fit the input's last dimension \(x.item.last ?? 0)") }
            let weight = w.transposed([1, 0])
            let (inF, outF) = (w.shape[0], w.shape[1])
            var bias: [Float]?
            var params = [c.initializerName(node, 1)]
            var output = node
            if let add = c.biasAdd(following: node, size: outF) {
                bias = add.bias
                params.append(add.initializer)
                output = add.node
                c.skipped.insert(add.node.index)
            }
            let name = c.nodeName(output.index == node.index ? node : output, parameters: params)
            emitLinear(c, output, name: name, input: x, weight: weight.floats, inFeatures: inF, outFeatures: outF, bias: bias)
        default:
            let shapes = [a, b].map { v -> [Int] in
                switch v {
                case let .computed(t): return [Broadcast.batch] + t.item
                case let .constant(k, _): return k.shape
                }
            }
            guard shapes.allSatisfy({ $0.count >= 2 }) else { throw node.unsupported("matrix products of vectors are not supported") }
            let (sa, sb) = (shapes[0], shapes[1])
            guard sa.last == sb[sb.count - 2] else { throw node.unsupported("shapes \(sa) and \(sb) do not multiply") }
            guard let lead = Broadcast.shape(Array(sa.dropLast(2)), Array(sb.dropLast(2))), lead.first == Broadcast.batch else {
                throw node.unsupported("shapes \(sa) and \(sb) do not broadcast with the batch first")
            }
            let item = Array(lead.dropFirst()) + [sa[sa.count - 2], sb[sb.count - 1]]
            let inputs = [try c.nodeInput(node, 0), try c.nodeInput(node, 1)]
            c.emit(node, "matmul", name: c.nodeName(node), inputs: inputs, item: item)
        }
    }

    static func emitLinear(_ c: ImportContext, _ node: ONNXNode, name: String, input x: ComputedTensor,
                           weight: [Float], inFeatures: Int, outFeatures: Int, bias: [Float]?) {
        c.graph.weight("\(name).weight", shape: [outFeatures, inFeatures], floats: weight)
        if let bias { c.graph.weight("\(name).bias", shape: [outFeatures], floats: bias) }
        c.emit(node, "linear", name: name, inputs: [x.node],
               [("in_features", JSONValue(inFeatures)), ("out_features", JSONValue(outFeatures)), ("bias", .bool(bias != nil))],
               item: Array(x.item.dropLast()) + [outFeatures])
    }
}

extension ImportContext {
    /// The Add that adds a constant vector of `size` to the only use of `node`'s output (the bias
    /// of a linear layer exported as MatMul + Add), with the bias's values and initializer name.
    func biasAdd(following node: ONNXNode, size: Int) -> (node: ONNXNode, bias: [Float], initializer: String?)? {
        let out = node.outputs[0]
        guard let users = consumers[out], users.count == 1, !graphOutputs.contains(out) else { return nil }
        let next = nodes[users[0]]
        guard next.opType == "Add", next.input.count == 2, next.domain.isEmpty || next.domain == "ai.onnx" else { return nil }
        let other = next.input[0] == out ? next.input[1] : next.input[0]
        guard case let .constant(bias, initializer)? = values[other], bias.count == size, bias.shape.last == size, !bias.isInteger else { return nil }
        let label = next.name.isEmpty ? "Add #\(users[0])" : next.name
        return (ONNXNode(proto: next, label: label, index: users[0]), bias.floats, initializer)
    }
}
