import NN

/// A four-class classifier of 8×8 images, small enough that attacks on it run in
/// milliseconds: for tests of what attacks and their callers promise whatever the model.
func tinyClassifier(seed: UInt64) throws -> Model {
    let spec = ModelSpec(name: "tiny", input: InputSpec(shape: [1, 8, 8], range: [0, 1]), classes: (0..<4).map(String.init), layers: [
        .conv2d("0", 1, 6, kernel: 3, padding: 1), LayerSpec(name: "1", type: "relu"), .pool("maxpool2d", "2", kernel: 2),
        LayerSpec(name: "3", type: "flatten"), .linear("4", 96, 4),
    ])
    let model = try Model(spec: spec)
    model.initialize(seed: seed)
    return model
}
