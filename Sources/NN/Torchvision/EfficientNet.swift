/// torchvision's EfficientNet-B0: `features.0` a Conv2dNormActivation (3x3/2 → 32, SiLU),
/// seven stages `features.1`...`features.7` of MBConv blocks, `features.8` (1x1 → 1280, SiLU),
/// avgpool, flatten, `classifier` (dropout 0.2, linear). MBConv `features.S.J`: `block.0` the
/// 1x1 expansion (when the ratio is not 1), then the depthwise k x k, a squeeze-excitation
/// (SiLU, sigmoid; squeezing to a quarter of the block's input channels) and the 1x1
/// projection without activation; with stride 1 and equal widths the node `features.S.J`
/// adds the block's input after `features.S.J.stochastic_depth` (torchvision's
/// StochasticDepth(p, "row") on the block's branch, p = 0.2 · block / 16 counting every block
/// from 0: in train mode each item's branch is dropped with probability p, kept ones scaled by
/// 1/(1 - p); the identity in eval mode).
enum EfficientNet {
    /// (expand ratio, kernel, stride, in, out, layers) per stage: torchvision's MBConvConfig
    /// for width and depth multipliers 1.
    static let b0Stages = [(1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2), (6, 3, 2, 40, 80, 3),
                           (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4), (6, 3, 1, 192, 320, 1)]

    static let b0 = TorchvisionArchitecture(name: "efficientnet_b0") { nodes(stages: b0Stages, $0) }

    /// torchvision's stochastic_depth_prob of EfficientNet-B0.
    static let stochasticDepthProbability: Float = 0.2

    static func nodes(stages: [(Int, Int, Int, Int, Int, Int)], _ request: TorchvisionArchitecture.Request) -> [LayerSpec] {
        var n = TorchvisionNodes()
        let blocks = stages.reduce(0) { $0 + $1.5 }
        var block = 0
        n.convNormActivation("features.0", 3, stages[0].3, kernel: 3, stride: 2, activation: "silu")
        for (s, (ratio, kernel, firstStride, firstIn, out, count)) in stages.enumerated() {
            for j in 0..<count {
                let inChannels = j == 0 ? firstIn : out, stride = j == 0 ? firstStride : 1
                let p = "features.\(s + 1).\(j)", x = n.last
                let expanded = TorchvisionNodes.divisible(Double(inChannels * ratio))
                var k = 0
                if expanded != inChannels {
                    n.convNormActivation("\(p).block.0", inChannels, expanded, kernel: 1, activation: "silu")
                    k = 1
                }
                let depthwise = n.convNormActivation("\(p).block.\(k)", expanded, expanded, kernel: kernel, stride: stride,
                                                     groups: expanded, activation: "silu")
                n.squeezeExcitation("\(p).block.\(k + 1)", depthwise, channels: expanded, squeeze: max(1, inChannels / 4),
                                    activation: "silu", scaleActivation: "sigmoid")
                n.convNormActivation("\(p).block.\(k + 2)", expanded, out, kernel: 1, activation: nil)
                if stride == 1 && inChannels == out {
                    n.add(.stochasticDepth("\(p).stochastic_depth", p: Self.stochasticDepthProbability * Float(block) / Float(blocks)))
                    n.residual(p, shortcut: x)
                }
                block += 1
            }
        }
        let last = stages[stages.count - 1].4
        n.convNormActivation("features.\(stages.count + 1)", last, 4 * last, kernel: 1, activation: "silu")
        n.poolAndFlatten()
        n.dropout("classifier.0", p: 0.2)
        n.linear("classifier.1", 4 * last, request.classes)
        return n.nodes
    }
}
