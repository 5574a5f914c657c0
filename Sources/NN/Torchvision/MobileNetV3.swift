/// torchvision's MobileNetV3, small and large (width 1, batchnorm eps 0.001 and momentum
/// 0.01): `features.0` a Conv2dNormActivation (3x3/2 → 16, hardswish), the InvertedResidual
/// blocks, a last Conv2dNormActivation (1x1 → 6x its input, hardswish), avgpool, flatten,
/// `classifier` (linear, hardswish, dropout 0.2, linear). Block `features.i`: `block.0` the
/// 1x1 expansion (when the expanded width differs from the input's), the depthwise k x k,
/// a squeeze-excitation where the configuration says (ReLU, hardsigmoid; squeezing to
/// `_make_divisible(expanded / 4)`), the 1x1 projection without activation; with stride 1 and
/// equal widths the node `features.i` adds the block's input.
enum MobileNetV3 {
    /// torchvision's InvertedResidualConfig: input, kernel, expanded, output, squeeze-excitation,
    /// hardswish (else ReLU), stride.
    struct Block {
        let input: Int, kernel: Int, expanded: Int, output: Int, se: Bool, hardswish: Bool, stride: Int
        init(_ input: Int, _ kernel: Int, _ expanded: Int, _ output: Int, _ se: Bool, _ activation: String, _ stride: Int) {
            (self.input, self.kernel, self.expanded, self.output, self.se, self.stride) = (input, kernel, expanded, output, se, stride)
            hardswish = activation == "HS"
        }
    }

    static let largeBlocks = [
        Block(16, 3, 16, 16, false, "RE", 1), Block(16, 3, 64, 24, false, "RE", 2), Block(24, 3, 72, 24, false, "RE", 1),
        Block(24, 5, 72, 40, true, "RE", 2), Block(40, 5, 120, 40, true, "RE", 1), Block(40, 5, 120, 40, true, "RE", 1),
        Block(40, 3, 240, 80, false, "HS", 2), Block(80, 3, 200, 80, false, "HS", 1), Block(80, 3, 184, 80, false, "HS", 1),
        Block(80, 3, 184, 80, false, "HS", 1), Block(80, 3, 480, 112, true, "HS", 1), Block(112, 3, 672, 112, true, "HS", 1),
        Block(112, 5, 672, 160, true, "HS", 2), Block(160, 5, 960, 160, true, "HS", 1), Block(160, 5, 960, 160, true, "HS", 1),
    ]
    static let smallBlocks = [
        Block(16, 3, 16, 16, true, "RE", 2), Block(16, 3, 72, 24, false, "RE", 2), Block(24, 3, 88, 24, false, "RE", 1),
        Block(24, 5, 96, 40, true, "HS", 2), Block(40, 5, 240, 40, true, "HS", 1), Block(40, 5, 240, 40, true, "HS", 1),
        Block(40, 5, 120, 48, true, "HS", 1), Block(48, 5, 144, 48, true, "HS", 1), Block(48, 5, 288, 96, true, "HS", 2),
        Block(96, 5, 576, 96, true, "HS", 1), Block(96, 5, 576, 96, true, "HS", 1),
    ]

    static let small = TorchvisionArchitecture(name: "mobilenet_v3_small") { nodes(smallBlocks, lastChannel: 1024, $0) }
    static let large = TorchvisionArchitecture(name: "mobilenet_v3_large") { nodes(largeBlocks, lastChannel: 1280, $0) }

    static func nodes(_ blocks: [Block], lastChannel: Int, _ request: TorchvisionArchitecture.Request) -> [LayerSpec] {
        var n = TorchvisionNodes()
        let (eps, momentum): (Float, Float) = (0.001, 0.01)
        n.convNormActivation("features.0", 3, blocks[0].input, kernel: 3, stride: 2, activation: "hardswish", eps: eps, momentum: momentum)
        for (b, c) in blocks.enumerated() {
            let p = "features.\(b + 1)", x = n.last
            let activation = c.hardswish ? "hardswish" : "relu"
            var k = 0
            if c.expanded != c.input {
                n.convNormActivation("\(p).block.0", c.input, c.expanded, kernel: 1, activation: activation, eps: eps, momentum: momentum)
                k = 1
            }
            let depthwise = n.convNormActivation("\(p).block.\(k)", c.expanded, c.expanded, kernel: c.kernel, stride: c.stride,
                                                 groups: c.expanded, activation: activation, eps: eps, momentum: momentum)
            k += 1
            if c.se {
                n.squeezeExcitation("\(p).block.\(k)", depthwise, channels: c.expanded,
                                    squeeze: TorchvisionNodes.divisible(Double(c.expanded / 4)), activation: "relu", scaleActivation: "hardsigmoid")
                k += 1
            }
            n.convNormActivation("\(p).block.\(k)", c.expanded, c.output, kernel: 1, activation: nil, eps: eps, momentum: momentum)
            if c.stride == 1 && c.input == c.output { n.residual(p, shortcut: x) }
        }
        let last = blocks[blocks.count - 1].output
        n.convNormActivation("features.\(blocks.count + 1)", last, 6 * last, kernel: 1, activation: "hardswish", eps: eps, momentum: momentum)
        n.poolAndFlatten()
        n.linear("classifier.0", 6 * last, lastChannel)
        n.add("classifier.1", "hardswish")
        n.dropout("classifier.2", p: 0.2)
        n.linear("classifier.3", lastChannel, request.classes)
        return n.nodes
    }
}
