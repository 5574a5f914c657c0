import TensorEngine

/// What one image costs a model: the values its layers write and the multiply-adds that make
/// them. Attacks size their chunks from the multiply-adds (`ChunkSizer`), inference picks its
/// schedule from both (`Model+ImageParallel.swift`), and a training step's memory is estimated
/// from the values before it starts (the daemon's trainStep refuses a batch whose activations
/// would not fit, rather than be killed for the memory).
extension Model {
    public struct Footprint: Sendable {
        /// One image's activation values: the sum of the layers' output sizes, composites included.
        public let values: Int
        /// The multiply-adds for one image: each parameter tensor read once per output position
        /// of its layer (H·W for a convolution, the leading positions for a linear layer over
        /// the last axis, 1 for a vector); exact for convolutions and linear layers, a small
        /// over-count for normalisation layers.
        public let multiplyAdds: Int
    }

    /// The footprint of `layers` with these per-item output shapes (the architecture alone:
    /// parameter sizes never change after the model is built).
    static func footprint(layers: [Layer], outputShapes: [String: [Int]]) -> Footprint {
        var multiplyAdds = 0, values = 0
        for layer in layers {
            guard let shape = outputShapes[layer.name] else { continue }
            let size = shape.reduce(1, *)
            values += size
            guard !layer.parameters.isEmpty, let channels = shape.count == 3 ? shape.first : shape.last, channels > 0 else { continue }
            multiplyAdds += layer.parameters.reduce(0) { $0 + $1.value.count } * (size / channels)
        }
        return Footprint(values: values, multiplyAdds: multiplyAdds)
    }
}
