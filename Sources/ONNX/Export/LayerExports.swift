/// How one spec layer type is written as ONNX: nodes appended to the graph, the layer's output
/// value returned. Adding a type is one function and one line here; a type without an entry is
/// refused by name (`ONNXError.notExportable`).
typealias LayerExport = (ExportGraph, ExportLayer) throws -> String

/// The export registry: spec layer/node type → its ONNX form (this file: convolution, linear,
/// pooling, normalisation; ElementwiseExports.swift: activations, arithmetic, shape changes).
/// `residual`, `parameter` and `constant` are structure, written by the walk itself.
enum LayerExports {
    static let registry: [String: LayerExport] = [
        "conv2d": { try conv2d($0, $1) },
        "linear": { try linear($0, $1) },
        "maxpool2d": { try pool($0, $1, op: "MaxPool") },
        "avgpool2d": { try pool($0, $1, op: "AveragePool") },
        "adaptiveavgpool2d": { try adaptiveAveragePool($0, $1) },
        "batchnorm2d": { try batchNorm($0, $1) },
        "batchnorm1d": { try batchNorm($0, $1) },
        "layernorm": { try layerNorm($0, $1) },
        "mean": { try mean($0, $1) },
        "relu": { $1.emit($0, "Relu", [$1.x]) },
        "sigmoid": { $1.emit($0, "Sigmoid", [$1.x]) },
        "tanh": { $1.emit($0, "Tanh", [$1.x]) },
        "hardswish": { $1.emit($0, "HardSwish", [$1.x]) },
        "erf": { $1.emit($0, "Erf", [$1.x]) },
        "identity": { $1.emit($0, "Identity", [$1.x]) },
        // The identity at inference, as torch's eval-mode export writes StochasticDepth.
        "stochastic_depth": { $1.emit($0, "Identity", [$1.x]) },
        "leaky_relu": { $1.emit($0, "LeakyRelu", [$1.x], [Attribute.float("alpha", try $1.float("negative_slope", default: 0.01))]) },
        "hardsigmoid": { $1.emit($0, "HardSigmoid", [$1.x], [Attribute.float("alpha", 1.0 / 6), Attribute.float("beta", 0.5)]) },
        "relu6": { try clip($0, $1, low: 0, high: 6) },
        "hardtanh": { try clip($0, $1, low: $1.float("min_val", default: -1), high: $1.float("max_val", default: 1)) },
        "clip": { try clip($0, $1, low: $1.optionalFloat("min"), high: $1.optionalFloat("max")) },
        "silu": { g, l in l.emit(g, "Mul", [l.x, l.step(g, "Sigmoid", [l.x])]) },
        "gelu": { try gelu($0, $1) },
        "softmax": { try softmax($0, $1, op: "Softmax") },
        "log_softmax": { try softmax($0, $1, op: "LogSoftmax") },
        "dropout": { g, l in l.emit(g, "Dropout", [l.x, g.floats("\(l.name)::ratio", shape: [], [try l.float("p", default: 0.5)])]) },
        "flatten": { try flatten($0, $1) },
        "reshape": { g, l in l.emit(g, "Reshape", [l.x, g.ints("\(l.name)::shape", try l.ints("shape") ?? [])]) },
        "transpose": { g, l in l.emit(g, "Transpose", [l.x], [Attribute.ints("perm", try l.ints("perm") ?? [])]) },
        "pad": { try pad($0, $1) },
        "slice": { try slice($0, $1) },
        "add": { try arithmetic($0, $1, op: "Add") },
        "sub": { try arithmetic($0, $1, op: "Sub") },
        "mul": { try arithmetic($0, $1, op: "Mul") },
        "div": { try arithmetic($0, $1, op: "Div") },
        "matmul": { $1.emit($0, "MatMul", $1.inputs) },
        "concat": { try concat($0, $1) },
    ]

    static func conv2d(_ g: ExportGraph, _ l: ExportLayer) throws -> String {
        guard let w = g.weight("\(l.name).weight"), let shape = g.weights["\(l.name).weight"]?.shape, shape.count == 4 else {
            throw l.refuse("its weight \(l.name).weight is missing")
        }
        var inputs = [l.x, w]
        if let b = g.weight("\(l.name).bias") { inputs.append(b) }
        return l.emit(g, "Conv", inputs, [
            Attribute.ints("kernel_shape", Array(shape[2...])), Attribute.ints("strides", try l.pair("stride", default: [1, 1])),
            Attribute.ints("pads", try l.pads()), Attribute.ints("dilations", try l.pair("dilation", default: [1, 1])),
            Attribute.int("group", try l.int("groups", default: 1)),
        ])
    }

    /// Gemm on [N, features]; on higher ranks MatMul by the transposed weight (then Add of the
    /// bias), as PyTorch exports nn.Linear. The transposed weight keeps the state_dict key, so the
    /// import names the layer as before.
    static func linear(_ g: ExportGraph, _ l: ExportLayer) throws -> String {
        guard let w = g.weights["\(l.name).weight"], w.shape.count == 2 else { throw l.refuse("its weight \(l.name).weight is missing") }
        let bias = g.weight("\(l.name).bias")
        if l.inputShape.count == 2 {
            return l.emit(g, "Gemm", [l.x, g.weight(w.name)!] + (bias.map { [$0] } ?? []), [Attribute.int("transB", 1)])
        }
        let (out, inF) = (w.shape[0], w.shape[1])
        var transposed = [Float](repeating: 0, count: w.count)
        for o in 0..<out { for i in 0..<inF { transposed[i * out + o] = w.floats[o * inF + i] } }
        let wt = g.floats(w.name, shape: [inF, out], transposed, weightKey: true)
        guard let bias else { return l.emit(g, "MatMul", [l.x, wt]) }
        return l.emit(g, "Add", [l.step(g, "MatMul", [l.x, wt]), bias])
    }

    static func pool(_ g: ExportGraph, _ l: ExportLayer, op: String) throws -> String {
        let kernel = try l.pair("kernel_size")
        var attributes = [Attribute.ints("kernel_shape", kernel), Attribute.ints("strides", try l.pair("stride", default: kernel)),
                          Attribute.ints("pads", try l.pads()), Attribute.int("ceil_mode", l.bool("ceil_mode", default: false) ? 1 : 0)]
        if op == "MaxPool" { attributes.append(Attribute.ints("dilations", try l.pair("dilation", default: [1, 1]))) }
        // PyTorch counts the padding by default, ONNX does not: always written.
        if op == "AveragePool" { attributes.append(Attribute.int("count_include_pad", l.bool("count_include_pad", default: true) ? 1 : 0)) }
        return l.emit(g, op, [l.x], attributes)
    }

    /// ONNX has no adaptive pooling: output 1×1 is GlobalAveragePool; an output that divides the
    /// input evenly is an AveragePool of the quotient; other sizes are refused.
    static func adaptiveAveragePool(_ g: ExportGraph, _ l: ExportLayer) throws -> String {
        let out = try l.pair("output_size")
        let (h, w) = (l.inputShape[l.inputShape.count - 2], l.inputShape[l.inputShape.count - 1])
        if out == [1, 1] { return l.emit(g, "GlobalAveragePool", [l.x]) }
        guard h % out[0] == 0, w % out[1] == 0 else {
            throw l.refuse("output_size \(out) does not divide the input's \([h, w]), and ONNX has no adaptive pooling (its windows would differ in size)")
        }
        let kernel = [h / out[0], w / out[1]]
        return l.emit(g, "AveragePool", [l.x], [Attribute.ints("kernel_shape", kernel), Attribute.ints("strides", kernel)])
    }

    static func batchNorm(_ g: ExportGraph, _ l: ExportLayer) throws -> String {
        let keys = ["weight", "bias", "running_mean", "running_var"].map { "\(l.name).\($0)" }
        let inputs = try keys.map { key -> String in
            guard let v = g.weight(key) else { throw l.refuse("its tensor \(key) is missing") }
            return v
        }
        let epsilon = try l.float("eps", default: 1e-5), momentum = try l.float("momentum", default: 0.1)
        return l.emit(g, "BatchNormalization", [l.x] + inputs, [Attribute.float("epsilon", epsilon), Attribute.float("momentum", 1 - momentum)])
    }

    /// LayerNormalization (opset 17) over the trailing `normalized_shape`; without
    /// elementwise_affine the scale is ones and the bias zeros.
    static func layerNorm(_ g: ExportGraph, _ l: ExportLayer) throws -> String {
        let shape = try l.ints("normalized_shape") ?? []
        let count = shape.reduce(1, *)
        let scale = g.weight("\(l.name).weight") ?? g.floats("\(l.name)::scale", shape: shape, [Float](repeating: 1, count: count))
        let bias = g.weight("\(l.name).bias") ?? g.floats("\(l.name)::bias", shape: shape, [Float](repeating: 0, count: count))
        return l.emit(g, "LayerNormalization", [l.x, scale, bias], [
            Attribute.int("axis", -shape.count), Attribute.float("epsilon", try l.float("eps", default: 1e-5)),
        ])
    }

    /// ReduceMean with the axes as an attribute (opset 17; an input from 18).
    static func mean(_ g: ExportGraph, _ l: ExportLayer) throws -> String {
        l.emit(g, "ReduceMean", [l.x], [Attribute.ints("axes", try l.ints("dim") ?? []),
                                         Attribute.int("keepdims", l.bool("keepdim", default: false) ? 1 : 0)])
    }
}
