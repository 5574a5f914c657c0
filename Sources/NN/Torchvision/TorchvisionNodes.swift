/// A torchvision network's graph nodes, appended in forward order under torchvision's module
/// paths. Why a builder: torchvision's families share their building blocks
/// (Conv2dNormActivation, SqueezeExcitation, the pooled classifier), and a node reads the one
/// before unless told otherwise, so each family's file states only its layout.
struct TorchvisionNodes {
    private(set) var nodes: [LayerSpec] = []

    /// The name of the last node ("input" before any): what the next node reads by default.
    var last: String { nodes.last?.name ?? "input" }

    /// Appends `spec`, reading `inputs` (default: the node before, which the spec leaves
    /// implicit); returns its name.
    @discardableResult
    mutating func add(_ spec: LayerSpec, inputs: [String]? = nil) -> String {
        var s = spec
        s.inputs = inputs == [last] ? nil : inputs
        nodes.append(s)
        return s.name
    }

    /// A layer of a type that takes no fields (relu, hardswish, flatten, ...).
    @discardableResult
    mutating func add(_ name: String, _ type: String, inputs: [String]? = nil) -> String {
        add(LayerSpec(name: name, type: type), inputs: inputs)
    }

    @discardableResult
    mutating func conv(_ name: String, _ i: Int, _ o: Int, kernel: Int, stride: Int = 1, padding: Int = 0, dilation: Int = 1,
                       groups: Int = 1, bias: Bool = false, from: String? = nil) -> String {
        var s = LayerSpec.conv2d(name, i, o, kernel: IntPair(integerLiteral: kernel), stride: IntPair(integerLiteral: stride),
                                 padding: IntPair(integerLiteral: padding), bias: bias)
        if dilation != 1 { s.dilation = IntPair(integerLiteral: dilation) }
        if groups != 1 { s.groups = groups }
        return add(s, inputs: from.map { [$0] })
    }

    @discardableResult
    mutating func batchNorm(_ name: String, _ features: Int, eps: Float = 1e-5, momentum: Float = 0.1) -> String {
        add(.batchNorm2d(name, features, eps: eps, momentum: momentum))
    }

    @discardableResult
    mutating func pool(_ type: String, _ name: String, kernel: Int, stride: Int, padding: Int = 0, ceilMode: Bool = false,
                       from: String? = nil) -> String {
        var s = LayerSpec.pool(type, name, kernel: IntPair(integerLiteral: kernel), stride: IntPair(integerLiteral: stride),
                               padding: IntPair(integerLiteral: padding))
        if ceilMode { s.ceilMode = true }
        return add(s, inputs: from.map { [$0] })
    }

    @discardableResult
    mutating func adaptiveAveragePool(_ name: String, size: Int, from: String? = nil) -> String {
        var s = LayerSpec(name: name, type: "adaptiveavgpool2d")
        s.outputSize = IntPair(integerLiteral: size)
        return add(s, inputs: from.map { [$0] })
    }

    @discardableResult
    mutating func linear(_ name: String, _ i: Int, _ o: Int) -> String { add(.linear(name, i, o)) }

    @discardableResult
    mutating func dropout(_ name: String, p: Float) -> String { add(.dropout(name, p: p)) }

    /// torchvision's Conv2dNormActivation at `name`: `name.0` a convolution without bias padded
    /// by (kernel - 1) / 2 · dilation, `name.1` batchnorm, `name.2` the activation (a spec
    /// type; nil for none). Returns the last node's name.
    @discardableResult
    mutating func convNormActivation(_ name: String, _ i: Int, _ o: Int, kernel: Int, stride: Int = 1, groups: Int = 1,
                                     dilation: Int = 1, activation: String?, eps: Float = 1e-5, momentum: Float = 0.1,
                                     from: String? = nil) -> String {
        conv(name + ".0", i, o, kernel: kernel, stride: stride, padding: (kernel - 1) / 2 * dilation, dilation: dilation,
             groups: groups, from: from)
        batchNorm(name + ".1", o, eps: eps, momentum: momentum)
        if let activation { add(name + ".2", activation) }
        return last
    }

    /// torchvision.ops.SqueezeExcitation at `name` over `x` (`channels` wide): avgpool to 1x1,
    /// fc1 (1x1 convolution to `squeeze`), activation, fc2 back, scale_activation; the node
    /// `name` itself is the scale times `x`.
    @discardableResult
    mutating func squeezeExcitation(_ name: String, _ x: String, channels: Int, squeeze: Int,
                                    activation: String, scaleActivation: String) -> String {
        adaptiveAveragePool(name + ".avgpool", size: 1, from: x)
        conv(name + ".fc1", channels, squeeze, kernel: 1, bias: true)
        add(name + ".activation", activation)
        conv(name + ".fc2", squeeze, channels, kernel: 1, bias: true)
        let scale = add(name + ".scale_activation", scaleActivation)
        return add(name, "mul", inputs: [scale, x])
    }

    /// The residual sum `name` of the block's output (the last node) and `shortcut`.
    @discardableResult
    mutating func residual(_ name: String, shortcut: String) -> String {
        add(name, "add", inputs: [last, shortcut])
    }

    /// Global average pooling ("avgpool") and torch.flatten(x, 1) ("flatten").
    mutating func poolAndFlatten() {
        adaptiveAveragePool("avgpool", size: 1)
        add("flatten", "flatten")
    }

    /// torchvision's `_make_divisible`: `value` rounded to a multiple of `divisor`, at least
    /// `divisor`, and not below 90% of `value`.
    static func divisible(_ value: Double, _ divisor: Int = 8) -> Int {
        var rounded = max(divisor, (Int(value + Double(divisor) / 2) / divisor) * divisor)
        if Double(rounded) < 0.9 * value { rounded += divisor }
        return rounded
    }
}
