/// The model file's spec JSON: input geometry and bounds, class labels, and either the layer
/// list (`layers`: an nn.Sequential, residual blocks nested) or a graph of named nodes
/// (`nodes`, with `output`). Field names follow PyTorch's constructor arguments (snake_case)
/// so a spec reads like the module it describes. Decoded strictly (`Model.decodeSpec`): a
/// key no spec type reads is refused at any depth, so a typo cannot fall back to a default.
/// See docs/model-format.md.
public struct ModelSpec: Codable, Sendable, Equatable {
    public var name: String
    public var input: InputSpec
    public var classes: [String]
    /// The sequential layer list; empty for a graph spec.
    public var layers: [LayerSpec]
    /// The graph's nodes in topological order (nil for a sequential spec).
    public var nodes: [LayerSpec]?
    /// The graph node whose output is the logits (default: the last node).
    public var output: String?

    public init(name: String, input: InputSpec, classes: [String], layers: [LayerSpec]) {
        self.name = name
        self.input = input
        self.classes = classes
        self.layers = layers
    }

    /// A graph spec.
    public init(name: String, input: InputSpec, classes: [String], nodes: [LayerSpec], output: String? = nil) {
        self.init(name: name, input: input, classes: classes, layers: [])
        self.nodes = nodes
        self.output = output
    }

    enum CodingKeys: String, CodingKey { case name, input, classes, layers, nodes, output }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        input = try c.decode(InputSpec.self, forKey: .input)
        classes = try c.decode([String].self, forKey: .classes)
        nodes = try c.decodeIfPresent([LayerSpec].self, forKey: .nodes)
        output = try c.decodeIfPresent(String.self, forKey: .output)
        switch (c.contains(.layers), nodes != nil) {
        case (true, true):
            throw ModelError.invalidSpec(path: "nodes", message: "give either layers (a sequential model) or nodes (a graph), not both")
        case (false, false):
            throw ModelError.invalidSpec(path: "layers", message: "required: give either layers (a sequential model) or nodes (a graph)")
        case (true, false):
            layers = try c.decode([LayerSpec].self, forKey: .layers)
            if output != nil { throw ModelError.invalidSpec(path: "output", message: "applies to a graph spec (nodes), not to layers") }
        case (false, true):
            layers = []
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(input, forKey: .input)
        try c.encode(classes, forKey: .classes)
        if let nodes {
            try c.encode(nodes, forKey: .nodes)
            try c.encodeIfPresent(output, forKey: .output)
        } else {
            try c.encode(layers, forKey: .layers)
        }
    }
}

/// One axis or a list of axes, as PyTorch's `dim` takes either (`dim=1`, `dim=(2, 3)`);
/// written back the way it was given. Negative axes count from the end.
public struct Axes: Codable, Sendable, Equatable, ExpressibleByIntegerLiteral {
    public var values: [Int]
    /// Whether the spec gave one integer rather than a list.
    public var isScalar: Bool

    public init(_ values: [Int]) { self.values = values; isScalar = false }
    public init(integerLiteral v: Int) { values = [v]; isScalar = true }

    /// The axis, when exactly one was given.
    public var single: Int? { values.count == 1 ? values[0] : nil }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let v = try? c.decode(Int.self) { self.init(integerLiteral: v) } else { self.init(try c.decode([Int].self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        if isScalar, let v = single { try c.encode(v) } else { try c.encode(values) }
    }
}

/// The input a model takes: per-item shape [C, H, W], the valid pixel range (attacks keep
/// images inside it), and the per-channel normalisation applied inside the model.
public struct InputSpec: Codable, Sendable, Equatable {
    public var shape: [Int]
    public var range: [Float]
    public var mean: [Float]?
    public var std: [Float]?

    public init(shape: [Int], range: [Float] = [0, 1], mean: [Float]? = nil, std: [Float]? = nil) {
        self.shape = shape
        self.range = range
        self.mean = mean
        self.std = std
    }

    public var lower: Float { range.first ?? 0 }
    public var upper: Float { range.count > 1 ? range[1] : 1 }
}

/// An int or an [h, w] pair, as PyTorch accepts for kernel_size, stride and padding.
public struct IntPair: Codable, Sendable, Equatable, ExpressibleByIntegerLiteral {
    public var h: Int, w: Int

    public init(_ h: Int, _ w: Int) { self.h = h; self.w = w }
    public init(integerLiteral v: Int) { self.init(v, v) }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let v = try? c.decode(Int.self) {
            self.init(v, v)
        } else {
            let pair = try c.decode([Int].self)
            guard pair.count == 2 else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "expected an integer or [h, w], got \(pair.count) values")
            }
            self.init(pair[0], pair[1])
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        if h == w { try c.encode(h) } else { try c.encode([h, w]) }
    }

    var tuple: (Int, Int) { (h, w) }
}

/// Convolution and pooling padding: an int (every side), [h, w] (top = bottom = h, left =
/// right = w, as PyTorch), or [top, left, bottom, right] (asymmetric, as ONNX's pads give
/// them); written back in the shortest of these forms.
public struct Padding2d: Codable, Sendable, Equatable, ExpressibleByIntegerLiteral {
    public var top: Int, left: Int, bottom: Int, right: Int

    public init(top: Int, left: Int, bottom: Int, right: Int) {
        (self.top, self.left, self.bottom, self.right) = (top, left, bottom, right)
    }
    public init(_ pair: IntPair) { self.init(top: pair.h, left: pair.w, bottom: pair.h, right: pair.w) }
    public init(integerLiteral v: Int) { self.init(top: v, left: v, bottom: v, right: v) }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let v = try? c.decode(Int.self) {
            self.init(integerLiteral: v)
            return
        }
        let v = try c.decode([Int].self)
        switch v.count {
        case 2: self.init(IntPair(v[0], v[1]))
        case 4: self.init(top: v[0], left: v[1], bottom: v[2], right: v[3])
        default:
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "expected an integer, [h, w] or [top, left, bottom, right], got \(v.count) values")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        if top == bottom && left == right {
            if top == left { try c.encode(top) } else { try c.encode([top, left]) }
        } else {
            try c.encode([top, left, bottom, right])
        }
    }

    var values: [Int] { [top, left, bottom, right] }
    var tuple: (Int, Int, Int, Int) { (top, left, bottom, right) }
}

/// One layer of the spec. `type` picks which fields apply:
/// conv2d (in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
/// bias=true), linear (in_features, out_features, bias=true; over the last dimension), relu,
/// flatten (start_dim=1, end_dim=-1), maxpool2d / avgpool2d (kernel_size, stride=kernel_size,
/// padding=0, ceil_mode=false; maxpool2d dilation=1, avgpool2d count_include_pad=true),
/// batchnorm2d / batchnorm1d (num_features, eps=1e-5, momentum=0.1), dropout (p=0.5),
/// softmax / log_softmax (dim), layernorm (normalized_shape, eps=1e-5, elementwise_affine=true),
/// pad (pads, mode=constant, value=0), transpose (perm), reshape (shape), clip (min, max),
/// mean (dim, keepdim=false), slice (dim, start=0, end, step=1),
/// residual (body, shortcut: layer lists; an empty shortcut is the identity).
/// A graph node is a LayerSpec with `inputs`; the graph's own types are add, sub, mul, div
/// (two inputs, or one and a number as `value`), matmul (two inputs), concat (`dim`),
/// parameter and constant (`shape`).
/// Axis fields count the batch as dim 0 (docs/model-format.md).
public struct LayerSpec: Codable, Sendable, Equatable {
    public var name: String
    public var type: String
    /// Graph nodes: the names of the nodes (or "input") this node reads; default the previous node.
    public var inputs: [String]?
    /// parameter / constant: the tensor's full shape.
    public var shape: [Int]?
    /// concat: the axis joined along (the batch is dim 0; negative counts from the end).
    public var dim: Axes?
    public var inChannels: Int?
    public var outChannels: Int?
    public var kernelSize: IntPair?
    public var stride: IntPair?
    public var padding: Padding2d?
    public var bias: Bool?
    public var inFeatures: Int?
    public var outFeatures: Int?
    public var numFeatures: Int?
    public var eps: Float?
    public var momentum: Float?
    public var p: Float?
    /// leaky_relu.
    public var negativeSlope: Float?
    /// hardtanh.
    public var minVal: Float?
    public var maxVal: Float?
    /// gelu: "none" (exact, the default) or "tanh".
    public var approximate: String?
    /// adaptiveavgpool2d: the output's [H, W] (or one size for both).
    public var outputSize: IntPair?
    /// conv2d: channel groups (in_channels for depthwise).
    public var groups: Int?
    /// conv2d, maxpool2d: spacing of the kernel's taps.
    public var dilation: IntPair?
    /// maxpool2d / avgpool2d: a last partial window where the input leaves one.
    public var ceilMode: Bool?
    /// avgpool2d: whether padding counts in the divisor (PyTorch's default true).
    public var countIncludePad: Bool?
    /// mean: keep the reduced axes as size 1.
    public var keepdim: Bool?
    /// layernorm: the trailing dimensions normalised.
    public var normalizedShape: [Int]?
    /// layernorm: whether it has weight and bias (default true).
    public var elementwiseAffine: Bool?
    /// pad: [begin per axis..., end per axis...] over the full tensor (ONNX order).
    public var pads: [Int]?
    /// pad: "constant", "reflect" or "replicate".
    public var mode: String?
    /// pad: the constant's value (default 0); add, sub, mul, div: the second operand, a number.
    public var value: Float?
    /// transpose: output axis i is input axis perm[i] (batch at 0).
    public var perm: [Int]?
    /// flatten: the first and last axes merged (defaults 1 and -1).
    public var startDim: Int?
    public var endDim: Int?
    /// clip: the bounds (either may be absent).
    public var clipMin: Float?
    public var clipMax: Float?
    /// slice: [start, end) by step along `dim`.
    public var start: Int?
    public var end: Int?
    public var step: Int?
    public var body: [LayerSpec]?
    public var shortcut: [LayerSpec]?

    enum CodingKeys: String, CodingKey {
        case name, type, stride, padding, bias, eps, momentum, p, body, shortcut
        case inputs, shape, dim
        case inChannels = "in_channels", outChannels = "out_channels", kernelSize = "kernel_size"
        case inFeatures = "in_features", outFeatures = "out_features", numFeatures = "num_features"
        case negativeSlope = "negative_slope", minVal = "min_val", maxVal = "max_val", approximate
        case outputSize = "output_size"
        case groups, dilation, ceilMode = "ceil_mode", countIncludePad = "count_include_pad", keepdim
        case normalizedShape = "normalized_shape", elementwiseAffine = "elementwise_affine", pads, mode, value, perm
        case startDim = "start_dim", endDim = "end_dim", clipMin = "min", clipMax = "max", start, end, step
    }

    public init(name: String, type: String) {
        self.name = name
        self.type = type
    }

    public static func conv2d(_ name: String, _ inC: Int, _ outC: Int, kernel: IntPair, stride: IntPair = 1,
                              padding: IntPair = 0, bias: Bool = true) -> LayerSpec {
        var l = LayerSpec(name: name, type: "conv2d")
        (l.inChannels, l.outChannels, l.kernelSize, l.stride, l.padding, l.bias) = (inC, outC, kernel, stride, Padding2d(padding), bias)
        return l
    }

    public static func linear(_ name: String, _ inF: Int, _ outF: Int, bias: Bool = true) -> LayerSpec {
        var l = LayerSpec(name: name, type: "linear")
        (l.inFeatures, l.outFeatures, l.bias) = (inF, outF, bias)
        return l
    }

    public static func pool(_ type: String, _ name: String, kernel: IntPair, stride: IntPair? = nil, padding: IntPair = 0) -> LayerSpec {
        var l = LayerSpec(name: name, type: type)
        (l.kernelSize, l.stride, l.padding) = (kernel, stride ?? kernel, Padding2d(padding))
        return l
    }

    public static func batchNorm2d(_ name: String, _ features: Int, eps: Float = 1e-5, momentum: Float = 0.1) -> LayerSpec {
        var l = LayerSpec(name: name, type: "batchnorm2d")
        (l.numFeatures, l.eps, l.momentum) = (features, eps, momentum)
        return l
    }

    public static func dropout(_ name: String, p: Float = 0.5) -> LayerSpec {
        var l = LayerSpec(name: name, type: "dropout")
        l.p = p
        return l
    }

    public static func stochasticDepth(_ name: String, p: Float) -> LayerSpec {
        var l = LayerSpec(name: name, type: "stochastic_depth")
        l.p = p
        return l
    }

    public static func residual(_ name: String, body: [LayerSpec], shortcut: [LayerSpec] = []) -> LayerSpec {
        var l = LayerSpec(name: name, type: "residual")
        (l.body, l.shortcut) = (body, shortcut)
        return l
    }
}
