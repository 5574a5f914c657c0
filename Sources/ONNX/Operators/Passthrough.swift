import JSON

/// Identity (an alias: no node; of an initializer, named by its output's state_dict key), Dropout → dropout (inference is the identity; trainStep drops
/// as the original did), Cast (float to float is an alias; constants convert).
extension ONNXOperators {
    static func identity(_ c: ImportContext, _ node: ONNXNode) throws {
        // PyTorch's exporter writes equal initializers once and the others as an Identity of it
        // (`encoder.ln.bias` = Identity(`conv_proj.bias`) when both are zeros): the output's name
        // is then the state_dict key to name the parameter by.
        if case let .constant(k, _) = try c.required(node, 0), let out = node.outputs.first, NodeNames.modulePath(ofParameter: out) != nil {
            return c.setOutput(node, .constant(k, initializer: out))
        }
        c.setOutput(node, try c.required(node, 0))
    }

    static func dropout(_ c: ImportContext, _ node: ONNXNode) throws {
        guard node.outputs.count < 2 || node.outputs[1].isEmpty else { throw node.unsupported("the mask output is not supported") }
        let v = try c.required(node, 0)
        guard case let .computed(x) = v else { return c.setOutput(node, v) }
        let ratio = try c.constant(node, 1)?.floats.first ?? 0.5
        c.emit(node, "dropout", name: c.nodeName(node), inputs: [x.node], [("p", JSONValue(float: ratio))], item: x.item)
    }

    static func cast(_ c: ImportContext, _ node: ONNXNode) throws {
        let to = Onnx_TensorProto.DataType(rawValue: node.int("to", default: 0))
        let floating: Set<Onnx_TensorProto.DataType> = [.float, .double, .float16, .bfloat16]
        switch try c.required(node, 0) {
        case let .computed(x):
            guard let to, floating.contains(to) else { throw node.unsupported("casting a computed tensor to \(to.map { "\($0)" } ?? "type \(node.int("to", default: 0))") is not supported") }
            c.setOutput(node, .computed(x))
        case let .constant(k, _):
            var out = k
            if let to, floating.contains(to) {
                out = ConstantTensor(shape: k.shape, floats: k.floats)
                guard k.batchAt.isEmpty else { throw node.unsupported("casts the batch size to a float") }
            } else if k.ints == nil {
                out = ConstantTensor(shape: k.shape, ints: k.floats.map { Int($0.rounded(.towardZero)) })
            }
            c.setOutput(node, .constant(out, initializer: nil))
        }
    }
}
