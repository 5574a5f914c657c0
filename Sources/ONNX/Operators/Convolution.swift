import JSON

/// Conv (2-D, any groups, dilation, asymmetric pads, auto_pad) → conv2d, weights `<node>.weight`
/// and `<node>.bias` as PyTorch's nn.Conv2d holds them ([out, in/groups, kH, kW]).
extension ONNXOperators {
    static func conv(_ c: ImportContext, _ node: ONNXNode) throws {
        let x = try c.computed(node, 0)
        guard x.rank == 4 else { throw node.unsupported("only 2-D convolution (input rank 4) is supported; the input has rank \(x.rank)") }
        guard let w = try c.constant(node, 1), w.shape.count == 4 else {
            throw node.unsupported("the weight must be a constant of rank 4")
        }
        let bias = try c.constant(node, 2)
        let groups = node.int("group", default: 1)
        let (outC, kernel) = (w.shape[0], [w.shape[2], w.shape[3]])
        guard groups > 0, x.item[0] == w.shape[1] * groups, outC % groups == 0 else {
            throw node.unsupported("weight shape \(w.shape) with group=\(groups) does not fit \(x.item[0]) input channels")
        }
        if let k = node.ints("kernel_shape"), k != kernel { throw node.unsupported("kernel_shape \(k) differs from the weight's \(kernel)") }
        if let b = bias, b.count != outC { throw node.unsupported("bias holds \(b.count) values for \(outC) output channels") }
        let window = try Window(node, input: x, kernel: kernel)
        let name = c.nodeName(node, parameters: [c.initializerName(node, 1), bias == nil ? nil : c.initializerName(node, 2)])
        var fields: [(String, JSONValue)] = [
            ("in_channels", JSONValue(x.item[0])), ("out_channels", JSONValue(outC)),
            ("kernel_size", pairJSON(kernel)), ("stride", pairJSON(window.strides)),
            ("padding", paddingJSON(window.pads)),
        ]
        if window.dilations != [1, 1] { fields.append(("dilation", pairJSON(window.dilations))) }
        if groups != 1 { fields.append(("groups", JSONValue(groups))) }
        fields.append(("bias", .bool(bias != nil)))
        c.graph.weight("\(name).weight", shape: w.shape, floats: w.floats)
        if let b = bias { c.graph.weight("\(name).bias", shape: [outC], floats: b.floats) }
        c.emit(node, "conv2d", name: name, inputs: [x.node], fields, item: [outC] + window.outputSize(ceil: false))
    }
}

/// The sliding window of Conv and the pools: strides, dilations and pads [top, left, bottom,
/// right] (auto_pad resolved against the input size), and the output size.
struct Window {
    var kernel: [Int]
    var strides: [Int]
    var dilations: [Int]
    var pads: [Int]
    var input: [Int]

    init(_ node: ONNXNode, input x: ComputedTensor, kernel: [Int]) throws {
        self.kernel = kernel
        input = [x.item[1], x.item[2]]
        strides = node.ints("strides") ?? [1, 1]
        dilations = node.ints("dilations") ?? [1, 1]
        pads = node.ints("pads") ?? [0, 0, 0, 0]
        guard strides.count == 2, dilations.count == 2, pads.count == 4, kernel.count == 2,
              (strides + dilations + kernel).allSatisfy({ $0 > 0 && $0 <= ONNXImporter.maxDimension }),
              pads.allSatisfy({ $0 >= 0 && $0 <= ONNXImporter.maxDimension }) else {
            throw node.unsupported("expected 2-D kernel_shape, strides, dilations and 4 pads, got kernel \(kernel), strides \(strides), dilations \(dilations), pads \(pads)")
        }
        switch node.string("auto_pad", default: "NOTSET") {
        case "NOTSET": break
        case "VALID": pads = [0, 0, 0, 0]
        case let mode where mode == "SAME_UPPER" || mode == "SAME_LOWER":
            for d in 0..<2 {
                let out = (input[d] + strides[d] - 1) / strides[d]
                let total = max(0, (out - 1) * strides[d] + (kernel[d] - 1) * dilations[d] + 1 - input[d])
                let small = total / 2, large = total - small
                (pads[d], pads[d + 2]) = mode == "SAME_UPPER" ? (small, large) : (large, small)
            }
        case let mode: throw node.unsupported("auto_pad \(mode) is not one of NOTSET, VALID, SAME_UPPER, SAME_LOWER")
        }
        for d in 0..<2 where outputSize(ceil: false)[d] < 1 {
            throw node.unsupported("the window (kernel \(kernel), dilation \(dilations)) is larger than the padded input \(input)")
        }
    }

    /// Output [H, W]; `ceil` as PyTorch's ceil_mode (a last window starting in the bottom/right
    /// padding is dropped).
    func outputSize(ceil: Bool) -> [Int] {
        (0..<2).map { d in
            let span = input[d] + pads[d] + pads[d + 2] - dilations[d] * (kernel[d] - 1) - 1
            var out = (ceil ? (span + strides[d] - 1) / strides[d] : span / strides[d]) + 1
            if ceil, (out - 1) * strides[d] >= input[d] + pads[d] { out -= 1 }
            return out
        }
    }
}
