/// `model/save`: writes a resident model's spec and weights, each atomically (temporary file,
/// fsync, rename), so a reader sees the old file or the new one, never a part.
public enum ModelSave: RequestType {
    public static let method = "model/save"

    public struct Params: Codable, Sendable {
        public var name: String
        /// Path of the spec JSON to write.
        public var spec: String
        /// Path of the .safetensors file to write.
        public var weights: String
        public init(name: String, spec: String, weights: String) {
            self.name = name
            self.spec = spec
            self.weights = weights
        }
    }

    public struct Result: Codable, Sendable {
        /// Absolute paths written.
        public var spec: String
        public var weights: String
        public var bytes: Int
        public var fingerprint: String
        /// The training state written beside the weights ("<weights>.optimizer.safetensors":
        /// optimiser state, step count, schedule, batch cursor), when the model was trained
        /// by trainStep; absent otherwise.
        public var trainingState: String?
        public init(spec: String, weights: String, bytes: Int, fingerprint: String, trainingState: String? = nil) {
            self.trainingState = trainingState
            self.spec = spec
            self.weights = weights
            self.bytes = bytes
            self.fingerprint = fingerprint
        }
    }
}
