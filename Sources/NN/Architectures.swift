/// The architectures AdvLens can create by name (`model/create`), as specs.
public enum Architectures {
    static let digits = (0..<10).map(String.init)
    static let mnistInput = InputSpec(shape: [1, 28, 28], range: [0, 1], mean: [0], std: [1])

    /// Names of the built-in architectures.
    public static let names = ["mnist-small", "mnist-madry"]

    /// The spec of a built-in architecture, or nil for an unknown name.
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
        default:
            return nil
        }
    }

    /// A freshly initialised built-in model.
    public static func create(_ name: String, seed: UInt64) throws -> Model {
        guard let spec = spec(name) else {
            throw ModelError.invalidSpec(path: "architecture", message: "unknown architecture \"\(name)\"; known: \(names.joined(separator: ", "))")
        }
        let model = try Model(spec: spec)
        model.initialize(seed: seed)
        return model
    }
}
