/// torchvision's networks as graph specs whose node names are torchvision's module paths,
/// so every parameter and buffer has torchvision's state_dict key: a `state_dict` saved from
/// torchvision (as safetensors) loads into `model/create`'s network unchanged. Why specs
/// rather than code: the graph executor runs them like any user's spec, and `model/save`
/// writes them back as one. Each family has its own file; adding a network is its file and
/// one line in `all`.
public enum TorchvisionArchitectures {
    /// ImageNet's normalisation, as torchvision's weights expect; it stays inside the spec.
    static let imagenetInput = InputSpec(shape: [3, 224, 224], range: [0, 1], mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225])

    /// The registry, in the order `names` lists them.
    static let all: [TorchvisionArchitecture] = [
        ResNet.resnet18, ResNet.resnet34, ResNet.resnet50,
        VGG.vgg11, VGG.vgg11BatchNorm, VGG.vgg16, VGG.vgg16BatchNorm,
        AlexNet.alexnet,
        SqueezeNet.squeezenet1_1,
        DenseNet.densenet121,
        MobileNetV2.mobilenetV2,
        MobileNetV3.small, MobileNetV3.large,
        EfficientNet.b0,
        VisionTransformer.vit,
    ]

    public static let names = all.map(\.name)

    static func architecture(_ name: String) -> TorchvisionArchitecture? { all.first { $0.name == name } }

    /// The spec of `name` with `options` (checked, errors naming the option), or nil for a
    /// name this enum does not know.
    public static func spec(_ name: String, options: ArchitectureOptions) throws -> ModelSpec? {
        guard let architecture = architecture(name) else { return nil }
        let classes = options.numClasses ?? 1000
        guard classes >= 1 else { throw ModelError.invalidSpec(path: "numClasses", message: "must be at least 1, got \(classes)") }
        let input = options.inputSize ?? [3, 224, 224]
        guard input.count == 3, input[0] == 3, input[1] >= 1, input[2] >= 1 else {
            throw ModelError.invalidSpec(path: "inputSize", message: "must be [3, H, W] with positive H and W, got \(input)")
        }
        for (field, given) in options.transformerFields where given != nil && !architecture.takesTransformerSizes {
            throw ModelError.invalidSpec(path: field, message: "applies to vit only, not to \(name)")
        }
        var inputSpec = imagenetInput
        inputSpec.shape = input
        let nodes = try architecture.nodes(TorchvisionArchitecture.Request(classes: classes, input: input, options: options))
        return ModelSpec(name: name, input: inputSpec, classes: [], nodes: nodes, output: nodes.last!.name)
    }

    /// The spec of `name` for `classes` outputs and per-image input shape `input` ([3, H, W]),
    /// other options at their defaults; nil for an unknown name.
    public static func spec(_ name: String, classes: Int, input: [Int]) -> ModelSpec? {
        try? spec(name, options: ArchitectureOptions(numClasses: classes, inputSize: input))
    }
}

/// One network `model/create` builds the torchvision way: its name and its graph nodes for a
/// request (classes, input size, options). Why a value rather than a protocol: a family
/// (ResNet, VGG) registers several depths of one builder.
struct TorchvisionArchitecture {
    /// What a builder is asked for: the checked class count and input, and the options.
    struct Request {
        var classes: Int
        /// [3, H, W].
        var input: [Int]
        var options: ArchitectureOptions
    }

    let name: String
    /// Whether the Vision Transformer sizes (patchSize, ...) apply.
    var takesTransformerSizes = false
    let nodes: (Request) throws -> [LayerSpec]
}

/// `model/create`'s options for torchvision's networks, named as the protocol names them
/// (errors name these fields). Unset means the architecture's default.
public struct ArchitectureOptions: Sendable, Equatable {
    /// The number of outputs (default 1000).
    public var numClasses: Int?
    /// The per-image input [3, H, W] (default [3, 224, 224]).
    public var inputSize: [Int]?
    /// vit only.
    public var transformer = TransformerSizes()

    public init(numClasses: Int? = nil, inputSize: [Int]? = nil, transformer: TransformerSizes = TransformerSizes()) {
        (self.numClasses, self.inputSize, self.transformer) = (numClasses, inputSize, transformer)
    }

    /// The Vision Transformer's options by protocol name.
    var transformerFields: [(String, Int?)] {
        let t = transformer
        return [("patchSize", t.patchSize), ("numLayers", t.numLayers), ("numHeads", t.numHeads), ("hiddenDim", t.hiddenDim), ("mlpDim", t.mlpDim)]
    }

    /// Every option's protocol name (the paths errors about options carry).
    public static let fields = ["numClasses", "inputSize", "patchSize", "numLayers", "numHeads", "hiddenDim", "mlpDim"]
}

/// The sizes of torchvision's VisionTransformer (`vit`), each nil for its default (ViT-B/16's:
/// patch 16, 12 layers, 12 heads, width 768, MLP 3072). Why a type of its own: only `vit`
/// takes them, and every other architecture refuses any of them.
public struct TransformerSizes: Sendable, Equatable {
    public var patchSize: Int?, numLayers: Int?, numHeads: Int?, hiddenDim: Int?, mlpDim: Int?

    public init(patchSize: Int? = nil, numLayers: Int? = nil, numHeads: Int? = nil, hiddenDim: Int? = nil, mlpDim: Int? = nil) {
        (self.patchSize, self.numLayers, self.numHeads, self.hiddenDim, self.mlpDim) = (patchSize, numLayers, numHeads, hiddenDim, mlpDim)
    }
}
