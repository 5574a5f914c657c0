/// torchvision's ResNet: stem conv1/bn1/relu/maxpool, layer1...layer4 (64, 128, 256, 512
/// wide; the first block of layer2...4 halves the side, with a `downsample` 1x1 convolution
/// and batchnorm on its shortcut wherever the shape changes), avgpool, flatten, fc.
/// BasicBlock (resnet18, resnet34): conv1 3x3 / bn1 / relu1, conv2 3x3 / bn2. Bottleneck
/// (resnet50, torchvision's v1.5: the stride on the 3x3): conv1 1x1 / bn1 / relu1, conv2 3x3 /
/// bn2 / relu2, conv3 1x1 to 4x the width / bn3. In block `layerL.B`, `add` is the sum with
/// the shortcut and `relu` the block's output (torchvision applies its one `relu` module at
/// every place; the nodes after the convolutions are relu1, relu2 so each has a name).
enum ResNet {
    static let resnet18 = TorchvisionArchitecture(name: "resnet18") { nodes(blocks: [2, 2, 2, 2], bottleneck: false, $0) }
    static let resnet34 = TorchvisionArchitecture(name: "resnet34") { nodes(blocks: [3, 4, 6, 3], bottleneck: false, $0) }
    static let resnet50 = TorchvisionArchitecture(name: "resnet50") { nodes(blocks: [3, 4, 6, 3], bottleneck: true, $0) }

    static func nodes(blocks: [Int], bottleneck: Bool, _ request: TorchvisionArchitecture.Request) -> [LayerSpec] {
        var n = TorchvisionNodes()
        n.conv("conv1", 3, 64, kernel: 7, stride: 2, padding: 3)
        n.batchNorm("bn1", 64)
        n.add("relu", "relu")
        n.pool("maxpool2d", "maxpool", kernel: 3, stride: 2, padding: 1)
        let expansion = bottleneck ? 4 : 1
        var channels = 64
        for (stage, count) in blocks.enumerated() {
            let width = 64 << stage
            for b in 0..<count {
                let p = "layer\(stage + 1).\(b).", x = n.last
                let stride = stage > 0 && b == 0 ? 2 : 1
                if bottleneck {
                    n.conv(p + "conv1", channels, width, kernel: 1)
                    n.batchNorm(p + "bn1", width)
                    n.add(p + "relu1", "relu")
                    n.conv(p + "conv2", width, width, kernel: 3, stride: stride, padding: 1)
                    n.batchNorm(p + "bn2", width)
                    n.add(p + "relu2", "relu")
                    n.conv(p + "conv3", width, width * expansion, kernel: 1)
                    n.batchNorm(p + "bn3", width * expansion)
                } else {
                    n.conv(p + "conv1", channels, width, kernel: 3, stride: stride, padding: 1)
                    n.batchNorm(p + "bn1", width)
                    n.add(p + "relu1", "relu")
                    n.conv(p + "conv2", width, width, kernel: 3, padding: 1)
                    n.batchNorm(p + "bn2", width)
                }
                let body = n.last
                var shortcut = x
                if stride != 1 || channels != width * expansion {
                    n.conv(p + "downsample.0", channels, width * expansion, kernel: 1, stride: stride, from: x)
                    shortcut = n.batchNorm(p + "downsample.1", width * expansion)
                }
                n.add(p + "add", "add", inputs: [body, shortcut])
                n.add(p + "relu", "relu")
                channels = width * expansion
            }
        }
        n.poolAndFlatten()
        n.linear("fc", channels, request.classes)
        return n.nodes
    }
}
