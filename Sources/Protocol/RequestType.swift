/// The message model: every JSON-RPC request of the AdvLens protocol is one type conforming
/// to `RequestType`, naming its method, its parameters and its result. The protocol's spec
/// for clients is protocol/README.md; JSON Schemas in protocol/schema/ mirror these types.
///
/// This module imports nothing: it is the shape of the wire, independent of transport and engine.
public protocol RequestType {
    associatedtype Params: Codable & Sendable
    associatedtype Result: Codable & Sendable
    static var method: String { get }
}

/// A request without parameters (model/list, shutdown, ...) takes `{}` or no params at all.
public struct NoParams: Codable, Sendable, Equatable {
    public init() {}
    private enum CodingKeys: CodingKey {}
    /// Reads the params as an (empty) object, so a strict decoder sees every field as unknown.
    public init(from decoder: Decoder) throws { _ = try decoder.container(keyedBy: CodingKeys.self) }
}

/// A result with nothing to say but success.
public struct EmptyResult: Codable, Sendable, Equatable {
    public init() {}
}

/// Every method this server version implements, in the order capabilities lists them.
public enum Methods {
    public static let all: [String] = [
        Initialize.method, Shutdown.method,
        ModelCreate.method, ModelLoad.method, ModelSave.method, ModelList.method, ModelInfo.method, ModelUnload.method,
        DatasetLoad.method, DatasetList.method, DatasetInfo.method,
        Predict.method, AttackMethod.method, HandleList.method, HandleDrop.method, HandleCreate.method,
        Probe.method,
        ExplainPrediction.method,
        CacheStats.method, CacheClear.method,
        TrainStep.method, Evaluate.method, EvaluateChecks.method,
    ]
    /// Notifications the server accepts.
    public static let notifications = ["initialized", "exit", "$/cancelRequest"]
}
