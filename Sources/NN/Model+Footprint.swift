import TensorEngine

/// What one image costs a model: the values its layers write and the multiply-adds that make
/// them. Inference picks its schedule from them (`Model+ImageParallel.swift`), and a training
/// step's memory is estimated from them before it starts (the daemon's trainStep refuses a
/// batch whose activations would not fit, rather than be killed for the memory).
extension Model {
    /// One image's activation values (the sum of the layers' output sizes, composites
    /// included) and the model's multiply-adds for it: each parameter tensor read once per
    /// output position of its layer, as `ChunkSizer` counts them.
    var perImageWork: (values: Int, multiplyAdds: Int) {
        var multiplyAdds = 0, values = 0
        for layer in layers {
            guard let shape = outputShapes[layer.name] else { continue }
            let size = shape.reduce(1, *)
            values += size
            guard !layer.parameters.isEmpty, let channels = shape.count == 3 ? shape.first : shape.last, channels > 0 else { continue }
            multiplyAdds += layer.parameters.reduce(0) { $0 + $1.value.count } * (size / channels)
        }
        return (values, multiplyAdds)
    }

    /// The values one image's layers write in a forward pass (`perImageWork`).
    public var activationValuesPerImage: Int { perImageWork.values }
}
