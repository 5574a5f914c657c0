/// torchvision's MobileNetV2 (width 1): `features.0` a Conv2dNormActivation (3x3/2 → 32,
/// ReLU6), 17 InvertedResidual blocks `features.1`...`features.17`, `features.18` (1x1 →
/// 1280, ReLU6), avgpool, flatten, `classifier` (dropout 0.2, linear). Block `features.i`:
/// `conv.0` the 1x1 expansion (for a ratio other than 1), the depthwise 3x3 (stride 1 or 2),
/// then a plain 1x1 convolution and batchnorm (no activation); with stride 1 and equal
/// widths the node `features.i` adds the block's input.
enum MobileNetV2 {
    /// (expand ratio t, channels c, repeats n, first stride s): torchvision's
    /// inverted_residual_setting.
    static let settings = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]

    static let mobilenetV2 = TorchvisionArchitecture(name: "mobilenet_v2") { request in
        var n = TorchvisionNodes()
        var channels = 32, i = 1
        n.convNormActivation("features.0", 3, channels, kernel: 3, stride: 2, activation: "relu6")
        for (ratio, width, repeats, firstStride) in settings {
            for r in 0..<repeats {
                let p = "features.\(i).conv.", x = n.last, stride = r == 0 ? firstStride : 1
                let hidden = channels * ratio
                var k = 0
                if ratio != 1 {
                    n.convNormActivation(p + "0", channels, hidden, kernel: 1, activation: "relu6")
                    k = 1
                }
                n.convNormActivation(p + "\(k)", hidden, hidden, kernel: 3, stride: stride, groups: hidden, activation: "relu6")
                n.conv(p + "\(k + 1)", hidden, width, kernel: 1)
                n.batchNorm(p + "\(k + 2)", width)
                if stride == 1 && channels == width { n.residual("features.\(i)", shortcut: x) }
                channels = width
                i += 1
            }
        }
        n.convNormActivation("features.\(i)", channels, 1280, kernel: 1, activation: "relu6")
        n.poolAndFlatten()
        n.dropout("classifier.0", p: 0.2)
        n.linear("classifier.1", 1280, request.classes)
        return n.nodes
    }
}
