/// torchvision's AlexNet: `features` (conv 11x11 stride 4 → 64, ReLU, max pool 3/2, conv 5x5 →
/// 192, ReLU, max pool, conv 3x3 → 384, 256, 256 each with its ReLU, max pool), avgpool to
/// 6x6, flatten, `classifier` (dropout, linear 9216 → 4096, ReLU, dropout, 4096 → 4096, ReLU,
/// 4096 → classes). Inputs must be at least 63x63 (three pools of 3).
enum AlexNet {
    static let alexnet = TorchvisionArchitecture(name: "alexnet") { request in
        var n = TorchvisionNodes()
        n.conv("features.0", 3, 64, kernel: 11, stride: 4, padding: 2, bias: true)
        n.add("features.1", "relu")
        n.pool("maxpool2d", "features.2", kernel: 3, stride: 2)
        n.conv("features.3", 64, 192, kernel: 5, padding: 2, bias: true)
        n.add("features.4", "relu")
        n.pool("maxpool2d", "features.5", kernel: 3, stride: 2)
        n.conv("features.6", 192, 384, kernel: 3, padding: 1, bias: true)
        n.add("features.7", "relu")
        n.conv("features.8", 384, 256, kernel: 3, padding: 1, bias: true)
        n.add("features.9", "relu")
        n.conv("features.10", 256, 256, kernel: 3, padding: 1, bias: true)
        n.add("features.11", "relu")
        n.pool("maxpool2d", "features.12", kernel: 3, stride: 2)
        n.adaptiveAveragePool("avgpool", size: 6)
        n.add("flatten", "flatten")
        n.dropout("classifier.0", p: 0.5)
        n.linear("classifier.1", 256 * 36, 4096)
        n.add("classifier.2", "relu")
        n.dropout("classifier.3", p: 0.5)
        n.linear("classifier.4", 4096, 4096)
        n.add("classifier.5", "relu")
        n.linear("classifier.6", 4096, request.classes)
        return n.nodes
    }
}
