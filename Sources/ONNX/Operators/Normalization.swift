import JSON

/// BatchNormalization (inference form) → batchnorm2d (rank 4) or batchnorm1d (rank 2 or 3) with
/// PyTorch's buffers; LayerNormalization (opset 17) → layernorm over the trailing dimensions.
extension ONNXOperators {
    static func batchNormalization(_ c: ImportContext, _ node: ONNXNode) throws {
        let x = try c.computed(node, 0)
        // A training-mode node (an export from train mode) is the same module: imported as the
        // batchnorm layer, which normalises with the batch's statistics in trainStep and with
        // the running ones in predict, as PyTorch's module in train() and eval(). Its updated
        // running statistics (outputs 1 and 2) must go unused: the layer keeps its own.
        if let used = node.outputs.dropFirst().first(where: { !$0.isEmpty && (c.consumers[$0] != nil || c.graphOutputs.contains($0)) }) {
            throw node.unsupported("its running-statistics output \"\(used)\" is read by the graph; a batchnorm layer keeps its running statistics itself (export in eval mode, or let nothing read them)")
        }
        let type: String
        switch x.rank {
        case 4: type = "batchnorm2d"
        case 2, 3: type = "batchnorm1d"
        default: throw node.unsupported("input rank \(x.rank) is not 2, 3 or 4")
        }
        let channels = x.item[0]
        var tensors: [ConstantTensor] = []
        for (i, what) in ["scale", "B", "input_mean", "input_var"].enumerated() {
            guard let t = try c.constant(node, i + 1), t.count == channels else {
                throw node.unsupported("\(what) must be a constant of \(channels) values (the channels)")
            }
            tensors.append(t)
        }
        let name = c.nodeName(node, parameters: (1...4).map { c.initializerName(node, $0) })
        for (t, key) in zip(tensors, ["weight", "bias", "running_mean", "running_var"]) {
            c.graph.weight("\(name).\(key)", shape: [channels], floats: t.floats)
        }
        c.graph.weight("\(name).num_batches_tracked", shape: [], floats: [0], dtype: "I64")
        let momentum = 1 - node.float("momentum", default: 0.9)
        c.emit(node, type, name: name, inputs: [x.node],
               [("num_features", JSONValue(channels)), ("eps", JSONValue(float: node.float("epsilon", default: 1e-5))),
                ("momentum", JSONValue(float: (momentum * 1e6).rounded() / 1e6))], item: x.item)
    }

    static func layerNormalization(_ c: ImportContext, _ node: ONNXNode) throws {
        let x = try c.computed(node, 0)
        guard node.outputs.dropFirst().allSatisfy(\.isEmpty) else { throw node.unsupported("the Mean and InvStdDev outputs are not supported") }
        let scale = try c.constant(node, 1), bias = try c.constant(node, 2)
        try emitLayerNorm(c, node, x, axes: [node.int("axis", default: -1)], toEnd: true, epsilon: node.float("epsilon", default: 1e-5),
                          scale: scale.map { ($0, c.initializerName(node, 1)) }, bias: bias.map { ($0, c.initializerName(node, 2)) })
    }

    /// The LayerNorm PyTorch exports below opset 17 (LayerNormPattern), at its last node.
    static func layerNormPattern(_ c: ImportContext, _ node: ONNXNode, _ match: LayerNormMatch) throws {
        guard case let .computed(x)? = c.values[match.x] else { throw ONNXError.undefinedValue(name: match.x, node: node.label) }
        func constant(_ name: String?) throws -> (ConstantTensor, String?)? {
            guard let name else { return nil }
            guard case let .constant(k, initializer)? = c.values[name] else { throw node.unsupported("\"\(name)\" must be a constant") }
            return (k, initializer)
        }
        try emitLayerNorm(c, node, x, axes: match.axes, toEnd: false, epsilon: match.epsilon, scale: try constant(match.scale), bias: try constant(match.bias))
    }

    /// A layernorm over the trailing dimensions from `axes` (LayerNormalization's one axis to the
    /// end, or a ReduceMean's list, which must be those dimensions), with the scale and bias
    /// (as many values as the normalised dimensions hold; ones and zeros when absent) stored as
    /// `<node>.weight` and `<node>.bias`.
    static func emitLayerNorm(_ c: ImportContext, _ node: ONNXNode, _ x: ComputedTensor, axes: [Int], toEnd: Bool, epsilon: Float,
                              scale: (ConstantTensor, String?)?, bias: (ConstantTensor, String?)?) throws {
        let resolved = axes.compactMap { x.axis($0) }.sorted()
        guard resolved.count == axes.count, let first = resolved.first, first > 0,
              toEnd || resolved == Array(first..<x.rank) else {
            throw node.unsupported("axes \(axes) include the batch, fall outside rank \(x.rank), or are not the trailing dimensions a layer norm normalises")
        }
        let normalized = Array(x.item[(first - 1)...])
        let count = normalized.reduce(1, *)
        for (what, t) in [("scale", scale?.0), ("bias", bias?.0)] {
            if let t, t.count != count || t.isInteger { throw node.unsupported("the \(what) must be a float constant of shape \(normalized)") }
        }
        let name = c.nodeName(node, parameters: [scale?.1, bias?.1])
        c.graph.weight("\(name).weight", shape: normalized, floats: scale?.0.floats ?? [Float](repeating: 1, count: count))
        c.graph.weight("\(name).bias", shape: normalized, floats: bias?.0.floats ?? [Float](repeating: 0, count: count))
        c.emit(node, "layernorm", name: name, inputs: [x.node],
               [("normalized_shape", JSONValue(ints: normalized)), ("eps", JSONValue(float: epsilon)), ("elementwise_affine", true)], item: x.item)
    }
}
