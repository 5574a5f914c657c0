/// torchvision's VGG: `features` numbered as its nn.Sequential (conv, [batchnorm,] ReLU per
/// entry, max pooling for "M"), avgpool to 7x7, flatten, and `classifier`: linear 25088 →
/// 4096, ReLU, dropout, 4096 → 4096, ReLU, dropout, 4096 → classes.
enum VGG {
    /// torchvision's `cfgs` ("M", max pooling, as nil).
    static let vgg11Configuration: [Int?] = [64, nil, 128, nil, 256, 256, nil, 512, 512, nil, 512, 512, nil]
    static let vgg16Configuration: [Int?] = [64, 64, nil, 128, 128, nil, 256, 256, 256, nil, 512, 512, 512, nil, 512, 512, 512, nil]

    static let vgg11 = TorchvisionArchitecture(name: "vgg11") { nodes(vgg11Configuration, batchNorm: false, $0) }
    static let vgg11BatchNorm = TorchvisionArchitecture(name: "vgg11_bn") { nodes(vgg11Configuration, batchNorm: true, $0) }
    static let vgg16 = TorchvisionArchitecture(name: "vgg16") { nodes(vgg16Configuration, batchNorm: false, $0) }
    static let vgg16BatchNorm = TorchvisionArchitecture(name: "vgg16_bn") { nodes(vgg16Configuration, batchNorm: true, $0) }

    static func nodes(_ configuration: [Int?], batchNorm: Bool, _ request: TorchvisionArchitecture.Request) -> [LayerSpec] {
        var n = TorchvisionNodes()
        var i = 0, channels = 3
        for entry in configuration {
            defer { i += 1 }
            guard let width = entry else { n.pool("maxpool2d", "features.\(i)", kernel: 2, stride: 2); continue }
            n.conv("features.\(i)", channels, width, kernel: 3, padding: 1, bias: true)
            if batchNorm { i += 1; n.batchNorm("features.\(i)", width) }
            i += 1
            n.add("features.\(i)", "relu")
            channels = width
        }
        n.adaptiveAveragePool("avgpool", size: 7)
        n.add("flatten", "flatten")
        n.linear("classifier.0", channels * 49, 4096)
        n.add("classifier.1", "relu")
        n.dropout("classifier.2", p: 0.5)
        n.linear("classifier.3", 4096, 4096)
        n.add("classifier.4", "relu")
        n.dropout("classifier.5", p: 0.5)
        n.linear("classifier.6", 4096, request.classes)
        return n.nodes
    }
}
