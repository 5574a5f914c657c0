/// `model/create`: a built-in architecture, freshly initialised (PyTorch's default
/// initialisation from the seed), resident under `name`. An existing model of that name is
/// replaced once the requests using it have finished.
public enum ModelCreate: RequestType {
    public static let method = "model/create"

    public struct Params: Codable, Sendable {
        public var name: String
        /// One of capabilities.architectures, e.g. "mnist-small".
        public var architecture: String
        public var seed: UInt64?
        /// torchvision's networks: the number of outputs (default 1000).
        public var numClasses: Int?
        /// torchvision's networks: the per-image input [3, H, W] (default [3, 224, 224]).
        public var inputSize: [Int]?
        /// vit only: torchvision VisionTransformer's patch_size, num_layers, num_heads,
        /// hidden_dim and mlp_dim (defaults ViT-B/16's: 16, 12, 12, 768, 3072).
        public var patchSize: Int?
        public var numLayers: Int?
        public var numHeads: Int?
        public var hiddenDim: Int?
        public var mlpDim: Int?
        public init(name: String, architecture: String, seed: UInt64? = nil, numClasses: Int? = nil, inputSize: [Int]? = nil,
                    patchSize: Int? = nil, numLayers: Int? = nil, numHeads: Int? = nil, hiddenDim: Int? = nil, mlpDim: Int? = nil) {
            self.name = name
            self.architecture = architecture
            self.seed = seed
            self.numClasses = numClasses
            self.inputSize = inputSize
            (self.patchSize, self.numLayers, self.numHeads, self.hiddenDim, self.mlpDim) = (patchSize, numLayers, numHeads, hiddenDim, mlpDim)
        }
    }

    public typealias Result = ModelSummary
}
