/// torchvision's DenseNet-121 (growth 32, bottleneck 4 × growth, blocks of 6, 12, 24 and 16
/// layers, 64 initial features, no dropout): `features` = conv0 7x7/2, norm0, relu0, pool0
/// (max 3/2), denseblock1...4 with transition1...3 between them (norm, relu, 1x1 conv
/// halving the channels, 2x2 average pool), norm5; then relu, avgpool, flatten, classifier.
/// Dense layer `features.denseblockB.denselayerL`: `cat` joins the block's input and every
/// earlier layer's new features along channels (the first layer reads the block input
/// itself), then norm1, relu1, conv1 (1x1), norm2, relu2, conv2 (3x3: its new features); the
/// node `features.denseblockB` joins the block's input and all its layers' features.
enum DenseNet {
    static let densenet121 = TorchvisionArchitecture(name: "densenet121") { nodes(blocks: [6, 12, 24, 16], growth: 32, initial: 64, $0) }

    static func nodes(blocks: [Int], growth: Int, initial: Int, _ request: TorchvisionArchitecture.Request) -> [LayerSpec] {
        var n = TorchvisionNodes()
        n.conv("features.conv0", 3, initial, kernel: 7, stride: 2, padding: 3)
        n.batchNorm("features.norm0", initial)
        n.add("features.relu0", "relu")
        n.pool("maxpool2d", "features.pool0", kernel: 3, stride: 2, padding: 1)
        var channels = initial
        for (b, count) in blocks.enumerated() {
            let block = "features.denseblock\(b + 1)"
            var features = [n.last]
            for l in 0..<count {
                let p = "\(block).denselayer\(l + 1)."
                if features.count > 1 { n.add(concat(p + "cat"), inputs: features) }
                n.batchNorm(p + "norm1", channels + l * growth)
                n.add(p + "relu1", "relu")
                n.conv(p + "conv1", channels + l * growth, 4 * growth, kernel: 1)
                n.batchNorm(p + "norm2", 4 * growth)
                n.add(p + "relu2", "relu")
                features.append(n.conv(p + "conv2", 4 * growth, growth, kernel: 3, padding: 1))
            }
            n.add(concat(block), inputs: features)
            channels += count * growth
            if b < blocks.count - 1 {
                let t = "features.transition\(b + 1)."
                n.batchNorm(t + "norm", channels)
                n.add(t + "relu", "relu")
                n.conv(t + "conv", channels, channels / 2, kernel: 1)
                n.pool("avgpool2d", t + "pool", kernel: 2, stride: 2)
                channels /= 2
            }
        }
        n.batchNorm("features.norm5", channels)
        n.add("relu", "relu")
        n.poolAndFlatten()
        n.linear("classifier", channels, request.classes)
        return n.nodes
    }

    static func concat(_ name: String) -> LayerSpec {
        var s = LayerSpec(name: name, type: "concat")
        s.dim = 1
        return s
    }
}
