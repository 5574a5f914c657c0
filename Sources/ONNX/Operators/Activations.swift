import JSON

/// Pointwise activations and softmax: one spec node each (Relu → relu, Clip → relu/relu6/
/// clip, HardSigmoid with PyTorch's constants → hardsigmoid, other constants → mul, add,
/// clip; Gelu and the Erf form PyTorch exports → gelu).
extension ONNXOperators {
    static func unary(_ c: ImportContext, _ node: ONNXNode, type: String, _ fields: [(String, JSONValue)] = []) throws {
        let x = try c.computed(node, 0)
        c.emit(node, type, name: c.nodeName(node), inputs: [x.node], fields, item: x.item)
    }

    /// Gelu (opset 20) or the matched Erf pattern (`input` names its x).
    static func gelu(_ c: ImportContext, _ node: ONNXNode, input: String?) throws {
        let source = input ?? node.proto.input.first ?? ""
        guard case let .computed(x)? = c.values[source] else {
            throw ONNXError.undefinedValue(name: source, node: node.label)
        }
        let approximate = node.opType == "Gelu" ? node.string("approximate", default: "none") : "none"
        guard approximate == "none" || approximate == "tanh" else { throw node.unsupported("approximate \"\(approximate)\" is not none or tanh") }
        var fields: [(String, JSONValue)] = []
        if approximate == "tanh" { fields.append(("approximate", "tanh")) }
        c.emit(node, "gelu", name: c.nodeName(node), inputs: [x.node], fields, item: x.item)
    }

    static func hardSigmoid(_ c: ImportContext, _ node: ONNXNode) throws {
        let x = try c.computed(node, 0)
        let alpha = node.float("alpha", default: 0.2), beta = node.float("beta", default: 0.5)
        if abs(alpha - 1.0 / 6) < 1e-6, beta == 0.5 {
            c.emit(node, "hardsigmoid", name: c.nodeName(node), inputs: [x.node], item: x.item)
            return
        }
        // max(0, min(1, alpha x + beta)) in three nodes.
        let base = c.nodeName(node)
        let alphaNode = c.graph.uniqueName("\(base).alpha"), betaNode = c.graph.uniqueName("\(base).beta")
        for (n, v) in [(alphaNode, alpha), (betaNode, beta)] {
            c.graph.add(n, "constant", inputs: [], [("shape", JSONValue(ints: [1]))])
            c.graph.weight(n, shape: [1], floats: [v])
        }
        let scaled = c.graph.add(c.graph.uniqueName("\(base).scale"), "mul", inputs: [x.node, alphaNode])
        let shifted = c.graph.add(c.graph.uniqueName("\(base).shift"), "add", inputs: [scaled, betaNode])
        c.emit(node, "clip", name: base, inputs: [shifted], [("min", 0), ("max", 1)], item: x.item)
    }

    /// Clip with constant bounds (inputs 1 and 2 from opset 11).
    static func clip(_ c: ImportContext, _ node: ONNXNode) throws {
        let x = try c.computed(node, 0)
        let low = try c.constant(node, 1).map { b -> Float in
            guard b.count == 1 else { throw node.unsupported("min must be a scalar") }
            return b.floats[0]
        }
        let high = try c.constant(node, 2).map { b -> Float in
            guard b.count == 1 else { throw node.unsupported("max must be a scalar") }
            return b.floats[0]
        }
        let name = c.nodeName(node)
        switch (low, high) {
        case (nil, nil): c.setOutput(node, .computed(x))
        case (0?, nil): c.emit(node, "relu", name: name, inputs: [x.node], item: x.item)
        case (0?, 6?): c.emit(node, "relu6", name: name, inputs: [x.node], item: x.item)
        default:
            var fields: [(String, JSONValue)] = []
            if let low { fields.append(("min", JSONValue(float: low))) }
            if let high { fields.append(("max", JSONValue(float: high))) }
            c.emit(node, "clip", name: name, inputs: [x.node], fields, item: x.item)
        }
    }

    static func softmax(_ c: ImportContext, _ node: ONNXNode, type: String) throws {
        let x = try c.computed(node, 0)
        let a = node.int("axis", default: -1)
        guard let axis = x.axis(a), axis != 0 else { throw node.unsupported("axis \(a) is the batch or outside rank \(x.rank)") }
        c.emit(node, type, name: c.nodeName(node), inputs: [x.node], [("dim", JSONValue(axis))], item: x.item)
    }
}
