/// The architectures AdvLens can create by name (`model/create`), as specs.
public enum Architectures {
    static let digits = (0..<10).map(String.init)
    static let mnistInput = InputSpec(shape: [1, 28, 28], range: [0, 1], mean: [0], std: [1])

    /// The shapes set (Data's ShapesCatalog, in label order; NN does not import Data).
    static let shapesClasses = ["car", "bus", "boat", "house", "tower", "face", "robot", "tree", "flower"]
    static let shapesInput = InputSpec(shape: [3, 64, 64], range: [0, 1], mean: [0, 0, 0], std: [1, 1, 1])

    /// Names of the built-in architectures: AdvLens's own, then torchvision's.
    public static let names = ["mnist-small", "mnist-madry", "shapes-cnn"] + TorchvisionArchitectures.names

    /// The spec of a built-in architecture, or nil for an unknown name. A torchvision network
    /// gets `classes` outputs (default 1000) and per-image input `inputSize` (default
    /// [3, 224, 224]); AdvLens's own have theirs fixed, and refuse either. Errors name the field.
    public static func spec(_ name: String, classes: Int?, inputSize: [Int]?) throws -> ModelSpec? {
        try spec(name, options: ArchitectureOptions(numClasses: classes, inputSize: inputSize))
    }

    /// The spec of a built-in architecture with `options` (torchvision's networks take them;
    /// AdvLens's own refuse any but their own class count and input), or nil for an unknown
    /// name. Errors name the option (`ModelError.invalidSpec` with its protocol name as path).
    public static func spec(_ name: String, options: ArchitectureOptions) throws -> ModelSpec? {
        if let spec = try TorchvisionArchitectures.spec(name, options: options) { return spec }
        guard let spec = spec(name) else { return nil }
        if let classes = options.numClasses, classes != spec.classes.count {
            throw ModelError.invalidSpec(path: "numClasses", message: "\(name) has \(spec.classes.count) classes; only torchvision's networks take numClasses")
        }
        if let inputSize = options.inputSize, inputSize != spec.input.shape {
            throw ModelError.invalidSpec(path: "inputSize", message: "\(name) takes \(spec.input.shape); only torchvision's networks take inputSize")
        }
        for (field, given) in options.transformerFields where given != nil {
            throw ModelError.invalidSpec(path: field, message: "applies to vit only, not to \(name)")
        }
        return spec
    }

    /// The spec of a built-in architecture (torchvision's with 1000 classes at 224x224), or nil
    /// for an unknown name.
    public static func spec(_ name: String) -> ModelSpec? {
        switch name {
        case "mnist-small":
            // conv 1→16 k5, relu, pool, conv 16→32 k5, relu, pool, 512→128→10.
            return ModelSpec(name: name, input: mnistInput, classes: digits, layers: [
                .conv2d("0", 1, 16, kernel: 5), LayerSpec(name: "1", type: "relu"), .pool("maxpool2d", "2", kernel: 2),
                .conv2d("3", 16, 32, kernel: 5), LayerSpec(name: "4", type: "relu"), .pool("maxpool2d", "5", kernel: 2),
                LayerSpec(name: "6", type: "flatten"), .linear("7", 512, 128), LayerSpec(name: "8", type: "relu"),
                .linear("9", 128, 10),
            ])
        case "mnist-madry":
            // The MNIST challenge network of Madry et al.: conv 1→32 k5 p2, conv 32→64 k5 p2, 3136→1024→10.
            return ModelSpec(name: name, input: mnistInput, classes: digits, layers: [
                .conv2d("0", 1, 32, kernel: 5, padding: 2), LayerSpec(name: "1", type: "relu"), .pool("maxpool2d", "2", kernel: 2),
                .conv2d("3", 32, 64, kernel: 5, padding: 2), LayerSpec(name: "4", type: "relu"), .pool("maxpool2d", "5", kernel: 2),
                LayerSpec(name: "6", type: "flatten"), .linear("7", 3136, 1024), LayerSpec(name: "8", type: "relu"),
                .linear("9", 1024, 10),
            ])
        case "shapes-cnn":
            return shapesCNN
        default:
            return TorchvisionArchitectures.spec(name, classes: 1000, input: [3, 224, 224])
        }
    }

    /// Whether `name` is a built-in architecture.
    public static func knows(_ name: String) -> Bool { names.contains(name)
    }

    /// The shapes set's network: three conv-batchnorm-relu stages with a residual block,
    /// each halving the side by max pooling (64 → 32 → 16 → 8 → 4), then a 128-unit dense
    /// layer "fc1" (the penultimate layer probes address; "relu5" is its activation) and the
    /// logits "fc2". Convolutions before a batchnorm carry no bias (the batchnorm's shift is one).
    static var shapesCNN: ModelSpec {
        func conv(_ name: String, _ i: Int, _ o: Int) -> LayerSpec { .conv2d(name, i, o, kernel: 3, padding: 1, bias: false) }
        return ModelSpec(name: "shapes-cnn", input: shapesInput, classes: shapesClasses, layers: [
            conv("conv1", 3, 16), .batchNorm2d("bn1", 16), LayerSpec(name: "relu1", type: "relu"), .pool("maxpool2d", "pool1", kernel: 2),
            conv("conv2", 16, 32), .batchNorm2d("bn2", 32), LayerSpec(name: "relu2", type: "relu"), .pool("maxpool2d", "pool2", kernel: 2),
            .residual("res3", body: [
                conv("conv1", 32, 32), .batchNorm2d("bn1", 32), LayerSpec(name: "relu1", type: "relu"),
                conv("conv2", 32, 32), .batchNorm2d("bn2", 32),
            ]),
            LayerSpec(name: "relu3", type: "relu"), .pool("maxpool2d", "pool3", kernel: 2),
            conv("conv4", 32, 64), .batchNorm2d("bn4", 64), LayerSpec(name: "relu4", type: "relu"), .pool("maxpool2d", "pool4", kernel: 2),
            LayerSpec(name: "flatten", type: "flatten"), .linear("fc1", 1024, 128), LayerSpec(name: "relu5", type: "relu"),
            .linear("fc2", 128, shapesClasses.count),
        ])
    }

    /// A freshly initialised built-in model (`classes` and `inputSize` as in `spec`).
    public static func create(_ name: String, seed: UInt64, classes: Int? = nil, inputSize: [Int]? = nil) throws -> Model {
        try create(name, seed: seed, options: ArchitectureOptions(numClasses: classes, inputSize: inputSize))
    }

    /// A freshly initialised built-in model with `options` (as in `spec`).
    public static func create(_ name: String, seed: UInt64, options: ArchitectureOptions) throws -> Model {
        guard let spec = try spec(name, options: options) else {
            throw ModelError.invalidSpec(path: "architecture", message: "unknown architecture \"\(name)\"; known: \(names.joined(separator: ", "))")
        }
        let model = try Model(spec: spec)
        model.initialize(seed: seed)
        return model
    }
}
