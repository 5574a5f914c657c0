/// Builds layer objects from spec entries, checking each field the type needs.
public enum LayerFactory {
    public static let leafTypes = ["conv2d", "linear", "relu", "maxpool2d", "avgpool2d", "adaptiveavgpool2d", "batchnorm2d", "dropout",
                                   "flatten", "identity"] + PointwiseFunction.kinds
    /// Every layer type a spec may use.
    public static let types = leafTypes + ["residual"]

    /// `prefix` is the parent's name plus "." ("" at the top); `path` locates the entry in the
    /// spec JSON for error messages.
    static func build(_ specs: [LayerSpec], prefix: String, path: String) throws -> [Layer] {
        var seen = Set<String>()
        return try specs.enumerated().map { i, spec in
            let at = "\(path)[\(i)]"
            guard !spec.name.isEmpty, !spec.name.contains(".") else {
                throw ModelError.invalidSpec(path: "\(at).name", message: "must be a non-empty name without dots")
            }
            guard seen.insert(spec.name).inserted else {
                throw ModelError.invalidSpec(path: "\(at).name", message: "duplicate layer name \"\(spec.name)\"")
            }
            if spec.inputs != nil {
                throw ModelError.invalidSpec(path: "\(at).inputs", message: "applies to graph nodes (a spec with nodes), not to a layer list")
            }
            return try build(spec, name: prefix + spec.name, path: at)
        }
    }

    static func build(_ s: LayerSpec, name: String, path: String) throws -> Layer {
        func need<T>(_ v: T?, _ field: String) throws -> T {
            guard let v else { throw ModelError.invalidSpec(path: "\(path).\(field)", message: "required for \(s.type)") }
            return v
        }
        func positive(_ v: Int, _ field: String) throws -> Int {
            guard v > 0 else { throw ModelError.invalidSpec(path: "\(path).\(field)", message: "must be positive, got \(v)") }
            return v
        }
        func window(_ field: String, _ v: IntPair, min: Int) throws -> (Int, Int) {
            guard v.h >= min, v.w >= min else {
                throw ModelError.invalidSpec(path: "\(path).\(field)", message: "must be at least \(min), got [\(v.h), \(v.w)]")
            }
            return v.tuple
        }
        switch s.type {
        case "conv2d":
            let kernel = try window("kernel_size", need(s.kernelSize, "kernel_size"), min: 1)
            return Conv2d(name: name,
                          inChannels: try positive(need(s.inChannels, "in_channels"), "in_channels"),
                          outChannels: try positive(need(s.outChannels, "out_channels"), "out_channels"),
                          kernel: kernel,
                          stride: try window("stride", s.stride ?? 1, min: 1),
                          padding: try window("padding", s.padding ?? 0, min: 0),
                          bias: s.bias ?? true)
        case "linear":
            return Linear(name: name,
                          inFeatures: try positive(need(s.inFeatures, "in_features"), "in_features"),
                          outFeatures: try positive(need(s.outFeatures, "out_features"), "out_features"),
                          bias: s.bias ?? true)
        case "relu":
            return ReLU(name: name)
        case "flatten":
            return Flatten(name: name)
        case "maxpool2d", "avgpool2d":
            let kernel = try window("kernel_size", need(s.kernelSize, "kernel_size"), min: 1)
            let stride = try window("stride", s.stride ?? IntPair(kernel.0, kernel.1), min: 1)
            let padding = try window("padding", s.padding ?? 0, min: 0)
            return s.type == "maxpool2d"
                ? MaxPool2d(name: name, kernel: kernel, stride: stride, padding: padding)
                : AvgPool2d(name: name, kernel: kernel, stride: stride, padding: padding)
        case "batchnorm2d":
            let eps = s.eps ?? 1e-5, momentum = s.momentum ?? 0.1
            guard eps > 0 else { throw ModelError.invalidSpec(path: "\(path).eps", message: "must be positive") }
            guard (0...1).contains(momentum) else { throw ModelError.invalidSpec(path: "\(path).momentum", message: "must be in [0, 1]") }
            return BatchNorm2d(name: name, features: try positive(need(s.numFeatures, "num_features"), "num_features"),
                               eps: eps, momentum: momentum)
        case "dropout":
            let p = s.p ?? 0.5
            guard (0...1).contains(p) else { throw ModelError.invalidSpec(path: "\(path).p", message: "must be in [0, 1], got \(p)") }
            return Dropout(name: name, p: p)
        case "adaptiveavgpool2d":
            let size = try window("output_size", need(s.outputSize, "output_size"), min: 1)
            return AdaptiveAvgPool2d(name: name, output: size)
        case "identity":
            return Identity(name: name)
        case "leaky_relu":
            let slope = s.negativeSlope ?? 0.01
            guard slope.isFinite else { throw ModelError.invalidSpec(path: "\(path).negative_slope", message: "must be finite") }
            return Pointwise(name: name, function: .leakyReLU(slope: slope))
        case "sigmoid": return Pointwise(name: name, function: .sigmoid)
        case "tanh": return Pointwise(name: name, function: .tanh)
        case "relu6": return Pointwise(name: name, function: .hardtanh(low: 0, high: 6))
        case "hardtanh":
            let low = s.minVal ?? -1, high = s.maxVal ?? 1
            guard low.isFinite, high.isFinite, low < high else {
                throw ModelError.invalidSpec(path: "\(path).min_val", message: "min_val and max_val must be finite with min_val < max_val, got [\(low), \(high)]")
            }
            return Pointwise(name: name, function: .hardtanh(low: low, high: high))
        case "hardsigmoid": return Pointwise(name: name, function: .hardsigmoid)
        case "hardswish": return Pointwise(name: name, function: .hardswish)
        case "silu": return Pointwise(name: name, function: .silu)
        case "gelu":
            switch s.approximate ?? "none" {
            case "none": return Pointwise(name: name, function: .gelu(tanhApproximation: false))
            case "tanh": return Pointwise(name: name, function: .gelu(tanhApproximation: true))
            case let other:
                throw ModelError.invalidSpec(path: "\(path).approximate", message: "must be \"none\" or \"tanh\", got \"\(other.prefix(40))\"")
            }
        case "residual":
            let body = try build(need(s.body, "body"), prefix: name + ".body.", path: path + ".body")
            let shortcut = try build(s.shortcut ?? [], prefix: name + ".shortcut.", path: path + ".shortcut")
            return Residual(name: name, body: body, shortcut: shortcut)
        default:
            throw ModelError.invalidSpec(path: "\(path).type", message: "unknown layer type \"\(s.type)\"; known: \(types.joined(separator: ", "))")
        }
    }
}
