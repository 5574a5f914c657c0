/// torchvision's networks as graph specs whose node names are torchvision's module paths,
/// so every parameter and buffer has torchvision's state_dict key: a `state_dict` saved from
/// torchvision (as safetensors) loads into `model/create`'s network unchanged. Why specs
/// rather than code: the graph executor runs them like any user's spec, and `model/save`
/// writes them back as one.
public enum TorchvisionArchitectures {
    /// ImageNet's normalisation, as torchvision's weights expect; it stays inside the spec.
    static let imagenetInput = InputSpec(shape: [3, 224, 224], range: [0, 1], mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225])

    /// VGG configurations ("M": max pooling), as torchvision's `cfgs`.
    static let vggConfigurations: [String: [Int?]] = [
        "vgg11": [64, nil, 128, nil, 256, 256, nil, 512, 512, nil, 512, 512, nil],
        "vgg16": [64, 64, nil, 128, 128, nil, 256, 256, 256, nil, 512, 512, 512, nil, 512, 512, 512, nil],
    ]

    public static let names = ["resnet18", "vgg11", "vgg11_bn", "vgg16", "vgg16_bn"]

    /// The spec of `name` for `classes` outputs and per-image input shape `input` ([3, H, W]),
    /// or nil for a name this enum does not know.
    public static func spec(_ name: String, classes: Int, input: [Int]) -> ModelSpec? {
        var inputSpec = imagenetInput
        inputSpec.shape = input
        let nodes: [LayerSpec]
        switch name {
        case "resnet18": nodes = resnet(blocks: [2, 2, 2, 2], classes: classes)
        case "vgg11", "vgg16": nodes = vgg(vggConfigurations[name]!, batchNorm: false, classes: classes)
        case "vgg11_bn", "vgg16_bn": nodes = vgg(vggConfigurations[String(name.dropLast(3))]!, batchNorm: true, classes: classes)
        default: return nil
        }
        return ModelSpec(name: name, input: inputSpec, classes: [], nodes: nodes, output: nodes.last!.name)
    }

    static func node(_ spec: LayerSpec, _ inputs: [String]? = nil) -> LayerSpec {
        var s = spec
        s.inputs = inputs
        return s
    }

    static func conv(_ name: String, _ i: Int, _ o: Int, kernel: Int, stride: Int = 1, padding: Int = 0, bias: Bool = false,
                     inputs: [String]? = nil) -> LayerSpec {
        node(.conv2d(name, i, o, kernel: IntPair(integerLiteral: kernel), stride: IntPair(integerLiteral: stride),
                     padding: IntPair(integerLiteral: padding), bias: bias), inputs)
    }

    /// torchvision's ResNet with BasicBlocks: stem conv1/bn1/relu/maxpool, layer1...layer4 of
    /// `blocks` blocks each (the first block of layer2...4 halving the side, with a
    /// `downsample` 1x1 convolution and batchnorm on its shortcut), avgpool, fc. In block
    /// `layerL.B`, `relu1` is the ReLU after bn1, `add` the sum with the shortcut and `relu`
    /// the block's output (torchvision applies its one `relu` module at both places).
    static func resnet(blocks: [Int], classes: Int) -> [LayerSpec] {
        var nodes: [LayerSpec] = [
            conv("conv1", 3, 64, kernel: 7, stride: 2, padding: 3, inputs: ["input"]), .batchNorm2d("bn1", 64),
            LayerSpec(name: "relu", type: "relu"), .pool("maxpool2d", "maxpool", kernel: 3, stride: 2, padding: 1),
        ]
        var channels = 64, previous = "maxpool"
        for (stage, count) in blocks.enumerated() {
            let width = 64 << stage
            for b in 0..<count {
                let p = "layer\(stage + 1).\(b)."
                let stride = stage > 0 && b == 0 ? 2 : 1
                nodes += [
                    conv(p + "conv1", channels, width, kernel: 3, stride: stride, padding: 1, inputs: [previous]), .batchNorm2d(p + "bn1", width),
                    LayerSpec(name: p + "relu1", type: "relu"),
                    conv(p + "conv2", width, width, kernel: 3, padding: 1), .batchNorm2d(p + "bn2", width),
                ]
                var shortcut = previous
                if stride != 1 || channels != width {
                    nodes += [conv(p + "downsample.0", channels, width, kernel: 1, stride: stride, inputs: [previous]),
                              .batchNorm2d(p + "downsample.1", width)]
                    shortcut = p + "downsample.1"
                }
                nodes += [node(LayerSpec(name: p + "add", type: "add"), [p + "bn2", shortcut]), LayerSpec(name: p + "relu", type: "relu")]
                channels = width
                previous = p + "relu"
            }
        }
        var pool = LayerSpec(name: "avgpool", type: "adaptiveavgpool2d")
        pool.outputSize = 1
        return nodes + [pool, LayerSpec(name: "flatten", type: "flatten"), .linear("fc", channels, classes)]
    }

    /// torchvision's VGG: `features` numbered as its nn.Sequential (conv, [batchnorm,] ReLU per
    /// entry, max pooling for "M"), avgpool to 7x7, flatten, and `classifier`: linear 25088 →
    /// 4096, ReLU, dropout, 4096 → 4096, ReLU, dropout, 4096 → classes.
    static func vgg(_ configuration: [Int?], batchNorm: Bool, classes: Int) -> [LayerSpec] {
        var nodes: [LayerSpec] = []
        var i = 0, channels = 3
        func add(_ s: LayerSpec) { nodes.append(s); i += 1 }
        for entry in configuration {
            guard let width = entry else { add(.pool("maxpool2d", "features.\(i)", kernel: 2, stride: 2)); continue }
            add(conv("features.\(i)", channels, width, kernel: 3, padding: 1, bias: true))
            if batchNorm { add(.batchNorm2d("features.\(i)", width)) }
            add(LayerSpec(name: "features.\(i)", type: "relu"))
            channels = width
        }
        nodes[0].inputs = ["input"]
        var pool = LayerSpec(name: "avgpool", type: "adaptiveavgpool2d")
        pool.outputSize = 7
        return nodes + [pool, LayerSpec(name: "flatten", type: "flatten"),
                        .linear("classifier.0", channels * 49, 4096), LayerSpec(name: "classifier.1", type: "relu"),
                        .dropout("classifier.2"), .linear("classifier.3", 4096, 4096), LayerSpec(name: "classifier.4", type: "relu"),
                        .dropout("classifier.5"), .linear("classifier.6", 4096, classes)]
    }
}
