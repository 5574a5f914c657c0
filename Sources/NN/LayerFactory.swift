/// Builds layer objects from spec entries, checking each field the type needs.
public enum LayerFactory {
    public static let leafTypes = ["conv2d", "linear", "relu", "maxpool2d", "avgpool2d", "adaptiveavgpool2d", "batchnorm2d", "dropout",
                                   "stochastic_depth", "flatten", "identity"] + PointwiseFunction.kinds
        + ["softmax", "log_softmax", "layernorm", "batchnorm1d", "pad", "transpose", "reshape", "mean", "slice"]
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
        func pads(_ v: Padding2d?) throws -> (Int, Int, Int, Int) {
            let v = v ?? 0
            guard v.values.allSatisfy({ $0 >= 0 }) else {
                throw ModelError.invalidSpec(path: "\(path).padding", message: "must not be negative, got \(v.values)")
            }
            return v.tuple
        }
        func only(_ field: String, _ present: Bool, for types: String) throws {
            if present { throw ModelError.invalidSpec(path: "\(path).\(field)", message: "applies to \(types), not to \(s.type)") }
        }
        try only("ceil_mode", s.ceilMode != nil && !["maxpool2d", "avgpool2d"].contains(s.type), for: "maxpool2d and avgpool2d")
        try only("count_include_pad", s.countIncludePad != nil && s.type != "avgpool2d", for: "avgpool2d")
        try only("dilation", s.dilation != nil && !["conv2d", "maxpool2d"].contains(s.type), for: "conv2d and maxpool2d")
        try only("groups", s.groups != nil && s.type != "conv2d", for: "conv2d")
        switch s.type {
        case "conv2d":
            let kernel = try window("kernel_size", need(s.kernelSize, "kernel_size"), min: 1)
            let inChannels = try positive(need(s.inChannels, "in_channels"), "in_channels")
            let outChannels = try positive(need(s.outChannels, "out_channels"), "out_channels")
            let groups = try positive(s.groups ?? 1, "groups")
            guard inChannels % groups == 0, outChannels % groups == 0 else {
                throw ModelError.invalidSpec(path: "\(path).groups", message: "must divide in_channels (\(inChannels)) and out_channels (\(outChannels)), got \(groups)")
            }
            return Conv2d(name: name, inChannels: inChannels, outChannels: outChannels, kernel: kernel,
                          stride: try window("stride", s.stride ?? 1, min: 1),
                          padding: (0, 0), pads: try pads(s.padding),
                          dilation: try window("dilation", s.dilation ?? 1, min: 1),
                          groups: groups,
                          bias: s.bias ?? true)
        case "linear":
            return Linear(name: name,
                          inFeatures: try positive(need(s.inFeatures, "in_features"), "in_features"),
                          outFeatures: try positive(need(s.outFeatures, "out_features"), "out_features"),
                          bias: s.bias ?? true)
        case "relu":
            return ReLU(name: name)
        case "flatten":
            return Flatten(name: name, startDim: s.startDim ?? 1, endDim: s.endDim ?? -1)
        case "maxpool2d", "avgpool2d":
            let kernel = try window("kernel_size", need(s.kernelSize, "kernel_size"), min: 1)
            let stride = try window("stride", s.stride ?? IntPair(kernel.0, kernel.1), min: 1)
            let window = PoolWindow(kernel: kernel, stride: stride, pads: try pads(s.padding),
                                    dilation: try window("dilation", s.dilation ?? 1, min: 1), ceilMode: s.ceilMode ?? false)
            return s.type == "maxpool2d"
                ? MaxPool2d(name: name, window: window)
                : AvgPool2d(name: name, window: window, countIncludePad: s.countIncludePad ?? true)
        case "batchnorm2d", "batchnorm1d":
            let eps = s.eps ?? 1e-5, momentum = s.momentum ?? 0.1
            guard eps > 0 else { throw ModelError.invalidSpec(path: "\(path).eps", message: "must be positive") }
            guard (0...1).contains(momentum) else { throw ModelError.invalidSpec(path: "\(path).momentum", message: "must be in [0, 1]") }
            return BatchNorm2d(name: name, features: try positive(need(s.numFeatures, "num_features"), "num_features"),
                               eps: eps, momentum: momentum, oneDimensional: s.type == "batchnorm1d")
        case "dropout":
            let p = s.p ?? 0.5
            guard (0...1).contains(p) else { throw ModelError.invalidSpec(path: "\(path).p", message: "must be in [0, 1], got \(p)") }
            return Dropout(name: name, p: p)
        case "stochastic_depth":
            let p = try need(s.p, "p")
            guard (0...1).contains(p) else { throw ModelError.invalidSpec(path: "\(path).p", message: "must be in [0, 1], got \(p)") }
            return StochasticDepth(name: name, p: p)
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
        case "erf": return Pointwise(name: name, function: .erf)
        case "clip":
            let low = s.clipMin ?? -.infinity, high = s.clipMax ?? .infinity
            guard !low.isNaN, !high.isNaN, low <= high else {
                throw ModelError.invalidSpec(path: "\(path).min", message: "min and max must be numbers with min <= max, got [\(low), \(high)]")
            }
            return Pointwise(name: name, function: .clip(low: low, high: high))
        case "softmax", "log_softmax":
            guard let d = try need(s.dim, "dim").single else {
                throw ModelError.invalidSpec(path: "\(path).dim", message: "must be one axis for \(s.type)")
            }
            return Softmax(name: name, dim: d, log: s.type == "log_softmax")
        case "layernorm":
            let shape = try need(s.normalizedShape, "normalized_shape")
            guard !shape.isEmpty, shape.allSatisfy({ $0 > 0 }) else {
                throw ModelError.invalidSpec(path: "\(path).normalized_shape", message: "must be a non-empty list of positive sizes, got \(shape)")
            }
            let eps = s.eps ?? 1e-5
            guard eps > 0 else { throw ModelError.invalidSpec(path: "\(path).eps", message: "must be positive") }
            return LayerNorm(name: name, normalizedShape: shape, eps: eps, elementwiseAffine: s.elementwiseAffine ?? true)
        case "pad":
            let amounts = try need(s.pads, "pads")
            guard amounts.count >= 2, amounts.count % 2 == 0, amounts.allSatisfy({ $0 >= 0 }) else {
                throw ModelError.invalidSpec(path: "\(path).pads", message: "must list non-negative amounts before, then after, each axis (an even count), got \(amounts)")
            }
            guard let mode = Pad.Mode(rawValue: s.mode ?? "constant") else {
                throw ModelError.invalidSpec(path: "\(path).mode", message: "must be one of \(Pad.Mode.allCases.map(\.rawValue).joined(separator: ", ")), got \"\((s.mode ?? "").prefix(40))\"")
            }
            guard (s.value ?? 0).isFinite else { throw ModelError.invalidSpec(path: "\(path).value", message: "must be finite") }
            if mode != .constant, s.value != nil {
                throw ModelError.invalidSpec(path: "\(path).value", message: "applies to mode constant only")
            }
            return Pad(name: name, pads: amounts, mode: mode, value: s.value ?? 0)
        case "transpose":
            let perm = try need(s.perm, "perm")
            guard perm.sorted() == Array(0..<perm.count), perm.first == 0 else {
                throw ModelError.invalidSpec(path: "\(path).perm", message: "must be a permutation of 0..<rank that keeps the batch at 0, got \(perm)")
            }
            return Transpose(name: name, perm: perm)
        case "reshape":
            let shape = try need(s.shape, "shape")
            guard let first = shape.first, first == 0 || first == -1 else {
                throw ModelError.invalidSpec(path: "\(path).shape", message: "must start with 0 or -1 (the batch), got \(shape)")
            }
            guard shape.allSatisfy({ $0 >= -1 }), shape.filter({ $0 == -1 }).count <= 1 else {
                throw ModelError.invalidSpec(path: "\(path).shape", message: "sizes must be positive, 0 (copy) or one -1 (inferred), got \(shape)")
            }
            return Reshape(name: name, shape: shape)
        case "mean":
            let dims = try need(s.dim, "dim").values
            guard !dims.isEmpty else { throw ModelError.invalidSpec(path: "\(path).dim", message: "must name at least one axis") }
            return Mean(name: name, dims: dims, keepdim: s.keepdim ?? false)
        case "slice":
            guard let d = try need(s.dim, "dim").single else {
                throw ModelError.invalidSpec(path: "\(path).dim", message: "must be one axis for slice")
            }
            let step = s.step ?? 1
            guard step > 0 else { throw ModelError.invalidSpec(path: "\(path).step", message: "must be positive, got \(step)") }
            return Slice(name: name, dim: d, start: s.start ?? 0, end: s.end ?? Int.max, step: step)
        case "residual":
            let body = try build(need(s.body, "body"), prefix: name + ".body.", path: path + ".body")
            let shortcut = try build(s.shortcut ?? [], prefix: name + ".shortcut.", path: path + ".shortcut")
            return Residual(name: name, body: body, shortcut: shortcut)
        default:
            throw ModelError.invalidSpec(path: "\(path).type", message: "unknown layer type \"\(s.type)\"; known: \(types.joined(separator: ", "))")
        }
    }
}
