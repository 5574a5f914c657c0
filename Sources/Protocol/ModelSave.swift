/// `model/save`: writes a resident model's spec and weights, each atomically (temporary file,
/// fsync, rename), so a reader sees the old file or the new one, never a part; and/or the
/// model as one ONNX file (`onnx`, opset 17, the weights inside), which model/load reads back.
public enum ModelSave: RequestType {
    public static let method = "model/save"

    public struct Params: Codable, Sendable {
        public var name: String
        /// Path of the spec JSON to write (with `weights`).
        public var spec: String?
        /// Path of the .safetensors file to write (with `spec`).
        public var weights: String?
        /// Path of an .onnx file to write (besides, or instead of, spec + weights).
        public var onnx: String?
        public init(name: String, spec: String? = nil, weights: String? = nil, onnx: String? = nil) {
            self.name = name
            self.spec = spec
            self.weights = weights
            self.onnx = onnx
        }
    }

    public struct Result: Codable, Sendable {
        /// Absolute paths written (when spec + weights were asked for).
        public var spec: String?
        public var weights: String?
        /// Size of the weights file (when written).
        public var bytes: Int?
        public var fingerprint: String
        /// The training state written beside the weights ("<weights>.optimizer.safetensors":
        /// optimiser state, step count, schedule, batch cursor), when the model was trained
        /// by trainStep; absent otherwise.
        public var trainingState: String?
        /// The ONNX file written (absolute path) and its size, when asked for.
        public var onnx: String?
        public var onnxBytes: Int?
        public init(spec: String? = nil, weights: String? = nil, bytes: Int? = nil, fingerprint: String, trainingState: String? = nil,
                    onnx: String? = nil, onnxBytes: Int? = nil) {
            self.trainingState = trainingState
            self.spec = spec
            self.weights = weights
            self.bytes = bytes
            self.fingerprint = fingerprint
            self.onnx = onnx
            self.onnxBytes = onnxBytes
        }
    }
}
