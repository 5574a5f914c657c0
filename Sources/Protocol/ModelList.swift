/// `model/list`: the resident models.
public enum ModelList: RequestType {
    public static let method = "model/list"
    public typealias Params = NoParams

    public struct Result: Codable, Sendable {
        public var models: [ModelSummary]
        public init(models: [ModelSummary]) { self.models = models }
    }
}
