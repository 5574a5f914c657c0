/// A resident model in one line: what model/create, model/load and model/list answer.
public struct ModelSummary: Codable, Sendable, Equatable {
    /// The name requests use to refer to it.
    public var name: String
    /// The spec's own name (for built-ins, the architecture).
    public var architecture: String
    /// Per-image input shape [C, H, W].
    public var inputShape: [Int]
    public var classes: [String]
    /// Number of trainable values.
    public var parameters: Int
    /// Changes whenever any weight changes (16 hex digits); caches key on it.
    public var fingerprint: String
    /// Optimiser steps trainStep has applied (cumulative, restored by model/load with the
    /// training state); absent for a model never trained here.
    public var trainingSteps: Int?
    /// Only from model/load, when something beside the weights was set aside rather than
    /// refused: e.g. "trainingState: ignored ..." for a training state that belongs to other
    /// weights (a save killed between its renames) or cannot be read. The weights loaded.
    public var warnings: [String]?

    public init(name: String, architecture: String, inputShape: [Int], classes: [String], parameters: Int, fingerprint: String, trainingSteps: Int? = nil) {
        self.name = name
        self.architecture = architecture
        self.inputShape = inputShape
        self.classes = classes
        self.parameters = parameters
        self.fingerprint = fingerprint
        self.trainingSteps = trainingSteps
    }
}
