import JSON

/// MaxPool and AveragePool → maxpool2d/avgpool2d (stride always written: the spec defaults it
/// to the kernel, ONNX to 1); GlobalAveragePool → adaptiveavgpool2d(1); ReduceMean → mean.
extension ONNXOperators {
    static func pool(_ c: ImportContext, _ node: ONNXNode, type: String) throws {
        let x = try c.computed(node, 0)
        guard x.rank == 4 else { throw node.unsupported("only 2-D pooling (input rank 4) is supported; the input has rank \(x.rank)") }
        guard node.outputs.count < 2 || node.outputs[1].isEmpty else { throw node.unsupported("the Indices output is not supported") }
        guard let kernel = node.ints("kernel_shape") else { throw node.unsupported("kernel_shape is required") }
        let window = try Window(node, input: x, kernel: kernel)
        let ceil = node.int("ceil_mode", default: 0) != 0
        var fields: [(String, JSONValue)] = [("kernel_size", pairJSON(kernel)), ("stride", pairJSON(window.strides)),
                                            ("padding", paddingJSON(window.pads))]
        if ceil { fields.append(("ceil_mode", .bool(true))) }
        if type == "maxpool2d", window.dilations != [1, 1] { fields.append(("dilation", pairJSON(window.dilations))) }
        if type == "avgpool2d" {
            guard window.dilations == [1, 1] else { throw node.unsupported("dilated average pooling is not supported") }
            // ONNX's default excludes padding from the count, PyTorch's includes it; only padded windows differ.
            if window.pads.contains(where: { $0 != 0 }) || ceil {
                fields.append(("count_include_pad", .bool(node.int("count_include_pad", default: 0) != 0)))
            }
        }
        c.emit(node, type, name: c.nodeName(node), inputs: [x.node], fields, item: [x.item[0]] + window.outputSize(ceil: ceil))
    }

    static func globalAveragePool(_ c: ImportContext, _ node: ONNXNode) throws {
        let x = try c.computed(node, 0)
        guard x.rank == 4 else { throw node.unsupported("only rank-4 inputs are supported; the input has rank \(x.rank)") }
        c.emit(node, "adaptiveavgpool2d", name: c.nodeName(node), inputs: [x.node], [("output_size", JSONValue(1))], item: [x.item[0], 1, 1])
    }

    /// ReduceMean over non-batch axes (attribute before opset 18, input from 18).
    static func reduceMean(_ c: ImportContext, _ node: ONNXNode) throws {
        let x = try c.computed(node, 0)
        let given = try c.constantInts(node, 1) ?? node.ints("axes")
        let keep = node.int("keepdims", default: 1) != 0
        var axes: [Int]
        if let given, !given.isEmpty {
            axes = try given.map { a in
                guard let n = x.axis(a) else { throw node.unsupported("axis \(a) is outside rank \(x.rank)") }
                return n
            }
        } else if node.int("noop_with_empty_axes", default: 0) != 0 {
            c.setOutput(node, .computed(x))
            return
        } else {
            axes = Array(0..<x.rank)
        }
        axes = Array(Set(axes)).sorted()
        guard !axes.contains(0) else { throw node.unsupported("averaging over the batch (axis 0) is not supported") }
        var item: [Int] = []
        for (d, size) in x.item.enumerated() where !axes.contains(d + 1) || keep { item.append(axes.contains(d + 1) ? 1 : size) }
        c.emit(node, "mean", name: c.nodeName(node), inputs: [x.node], [("dim", JSONValue(ints: axes)), ("keepdim", .bool(keep))], item: item)
    }
}
