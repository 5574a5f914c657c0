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
        public init(name: String, architecture: String, seed: UInt64? = nil, numClasses: Int? = nil, inputSize: [Int]? = nil) {
            self.name = name
            self.architecture = architecture
            self.seed = seed
            self.numClasses = numClasses
            self.inputSize = inputSize
        }
    }

    public typealias Result = ModelSummary
}
