/// `model/load`: a model from a spec JSON and a safetensors weights file (PyTorch state_dict
/// names and layouts), or from an ONNX file (`onnx`, imported into a graph spec), resident
/// under `name`; replaces an existing model of that name once the requests using it have
/// finished. Paths resolve inside rootPath.
public enum ModelLoad: RequestType {
    public static let method = "model/load"

    public struct Params: Codable, Sendable {
        public var name: String
        /// Path of the spec JSON (with `weights`; not with `onnx`).
        public var spec: String?
        /// Path of the .safetensors weights (with `spec`).
        public var weights: String?
        /// Path of an .onnx file (opset 13 or later, weights inside), instead of spec + weights.
        public var onnx: String?
        /// ONNX only: [lower, upper] of valid pixel values (default [0, 1]).
        public var inputRange: [Float]?
        /// ONNX only: per-channel normalisation the ONNX graph expects of its input, applied
        /// inside the model (as a spec's input mean/std); absent: the graph takes pixels as they are.
        public var mean: [Float]?
        public var std: [Float]?
        /// ONNX only: class labels in output order (default "0", "1", ...).
        public var classes: [String]?

        public init(name: String, spec: String? = nil, weights: String? = nil, onnx: String? = nil,
                    inputRange: [Float]? = nil, mean: [Float]? = nil, std: [Float]? = nil, classes: [String]? = nil) {
            self.name = name
            self.spec = spec
            self.weights = weights
            self.onnx = onnx
            self.inputRange = inputRange
            self.mean = mean
            self.std = std
            self.classes = classes
        }
    }

    public typealias Result = ModelSummary
}
