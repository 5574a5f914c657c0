/// `model/info`: a resident model in detail: input, classes, every layer with its output
/// shape and parameter count, and the weights fingerprint.
public enum ModelInfo: RequestType {
    public static let method = "model/info"

    public struct Params: Codable, Sendable {
        public var name: String
        public init(name: String) { self.name = name }
    }

    public struct Result: Codable, Sendable {
        public var summary: ModelSummary
        public var input: Input
        public var layers: [Layer]

        public init(summary: ModelSummary, input: Input, layers: [Layer]) {
            self.summary = summary
            self.input = input
            self.layers = layers
        }
    }

    /// The model's input: shape, valid pixel range, normalisation applied inside the model.
    public struct Input: Codable, Sendable {
        public var shape: [Int]
        public var range: [Float]
        public var mean: [Float]?
        public var std: [Float]?
        public init(shape: [Int], range: [Float], mean: [Float]?, std: [Float]?) {
            self.shape = shape
            self.range = range
            self.mean = mean
            self.std = std
        }
    }

    /// One layer: its name (the state_dict prefix, usable wherever a request names a layer),
    /// type, per-image output shape and its own parameter count.
    public struct Layer: Codable, Sendable {
        public var name: String
        public var type: String
        public var outputShape: [Int]?
        public var parameters: Int
        public init(name: String, type: String, outputShape: [Int]?, parameters: Int) {
            self.name = name
            self.type = type
            self.outputShape = outputShape
            self.parameters = parameters
        }
    }
}
