/// `model/load`: a model from a spec JSON and a safetensors weights file (PyTorch state_dict
/// names and layouts), resident under `name`; replaces an existing model of that name once
/// the requests using it have finished. Paths resolve inside rootPath.
public enum ModelLoad: RequestType {
    public static let method = "model/load"

    public struct Params: Codable, Sendable {
        public var name: String
        /// Path of the spec JSON.
        public var spec: String
        /// Path of the .safetensors weights.
        public var weights: String
        public init(name: String, spec: String, weights: String) {
            self.name = name
            self.spec = spec
            self.weights = weights
        }
    }

    public typealias Result = ModelSummary
}
