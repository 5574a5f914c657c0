/// torchvision's SqueezeNet 1.1: `features` (conv 3x3 stride 2 → 64, ReLU, ceil-mode max
/// pools 3/2 between pairs of Fire modules), `classifier` (dropout, a 1x1 convolution to the
/// classes, ReLU, global average pool), flatten. A Fire module `features.i`: squeeze (1x1) and
/// squeeze_activation, then expand1x1 and expand3x3 each with its activation, joined along
/// channels by the node `features.i` itself.
enum SqueezeNet {
    static let squeezenet1_1 = TorchvisionArchitecture(name: "squeezenet1_1") { request in
        var n = TorchvisionNodes()
        n.conv("features.0", 3, 64, kernel: 3, stride: 2, bias: true)
        n.add("features.1", "relu")
        n.pool("maxpool2d", "features.2", kernel: 3, stride: 2, ceilMode: true)
        // (index, in, squeeze, expand) per Fire module; the pools sit at 5 and 8.
        let fires = [(3, 64, 16, 64), (4, 128, 16, 64), (6, 128, 32, 128), (7, 256, 32, 128),
                     (9, 256, 48, 192), (10, 384, 48, 192), (11, 384, 64, 256), (12, 512, 64, 256)]
        for (i, inChannels, squeeze, expand) in fires {
            if i == 6 || i == 9 { n.pool("maxpool2d", "features.\(i - 1)", kernel: 3, stride: 2, ceilMode: true) }
            let p = "features.\(i)."
            n.conv(p + "squeeze", inChannels, squeeze, kernel: 1, bias: true)
            let squeezed = n.add(p + "squeeze_activation", "relu")
            n.conv(p + "expand1x1", squeeze, expand, kernel: 1, bias: true)
            let left = n.add(p + "expand1x1_activation", "relu")
            n.conv(p + "expand3x3", squeeze, expand, kernel: 3, padding: 1, bias: true, from: squeezed)
            let right = n.add(p + "expand3x3_activation", "relu")
            var joined = LayerSpec(name: "features.\(i)", type: "concat")
            joined.dim = 1
            n.add(joined, inputs: [left, right])
        }
        n.dropout("classifier.0", p: 0.5)
        n.conv("classifier.1", 512, request.classes, kernel: 1, bias: true)
        n.add("classifier.2", "relu")
        n.adaptiveAveragePool("classifier.3", size: 1)
        n.add("flatten", "flatten")
        return n.nodes
    }
}
