import JSON

/// BatchNormalization (inference form) → batchnorm2d (rank 4) or batchnorm1d (rank 2 or 3) with
/// PyTorch's buffers; LayerNormalization (opset 17) → layernorm over the trailing dimensions.
extension ONNXOperators {
    static func batchNormalization(_ c: ImportContext, _ node: ONNXNode) throws {
        let x = try c.computed(node, 0)
        guard node.int("training_mode", default: 0) == 0, node.outputs.filter({ !$0.isEmpty }).count == 1 else {
            throw node.unsupported("training_mode=1 (running statistics as outputs) is not supported; export in eval mode")
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
        let a = node.int("axis", default: -1)
        guard let axis = x.axis(a), axis > 0 else { throw node.unsupported("axis \(a) includes the batch or is outside rank \(x.rank)") }
        guard node.outputs.dropFirst().allSatisfy(\.isEmpty) else { throw node.unsupported("the Mean and InvStdDev outputs are not supported") }
        let normalized = Array(x.item[(axis - 1)...])
        let count = normalized.reduce(1, *)
        guard let scale = try c.constant(node, 1), scale.count == count else {
            throw node.unsupported("Scale must be a constant of shape \(normalized)")
        }
        let bias = try c.constant(node, 2)
        if let bias, bias.count != count { throw node.unsupported("B must be a constant of shape \(normalized)") }
        let name = c.nodeName(node, parameters: [c.initializerName(node, 1), bias == nil ? nil : c.initializerName(node, 2)])
        c.graph.weight("\(name).weight", shape: normalized, floats: scale.floats)
        c.graph.weight("\(name).bias", shape: normalized, floats: bias?.floats ?? [Float](repeating: 0, count: count))
        c.emit(node, "layernorm", name: name, inputs: [x.node],
               [("normalized_shape", JSONValue(ints: normalized)), ("eps", JSONValue(float: node.float("epsilon", default: 1e-5))),
                ("elementwise_affine", true)], item: x.item)
    }
}
