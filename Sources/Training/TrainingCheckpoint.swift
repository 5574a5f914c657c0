import Settings
import Foundation
import NN
import SafeTensors
import TensorEngine

/// A training state as a safetensors file beside the weights: the optimiser's state tensors
/// under "optimizer.<param>.<state>" ("momentum_buffer" for SGD; "exp_avg", "exp_avg_sq" for
/// Adam, torch.optim's names), and in the metadata "advlens.training": JSON with the format
/// version, the step counts, optimiser and schedule configurations, the batch cursor and the
/// fingerprint of the weights it belongs to (docs/model-format.md).
public enum TrainingCheckpoint {
    static let metadataKey = "advlens.training"
    static let prefix = "optimizer."

    struct Header: Codable {
        var format: Int
        var stepCount: Int
        var optimizerSteps: Int
        var optimizer: OptimizerConfig
        var schedule: LearningRateSchedule
        var cursor: DataCursor?
        var weightsFingerprint: String
    }

    /// Where the state of weights at `weights` goes: "m.safetensors" → "m.optimizer.safetensors".
    public static func path(forWeights weights: String) -> String {
        let base = weights.hasSuffix(".safetensors") ? String(weights.dropLast(".safetensors".count)) : weights
        return base + ".optimizer.safetensors"
    }

    public static func encode(_ session: TrainingSession) throws -> Data {
        let state = session.optimizer.stateTensors(session.model.parameters)
        let header = Header(format: 1, stepCount: session.stepCount, optimizerSteps: session.optimizer.stepCount,
                            optimizer: session.optimizerConfig, schedule: session.schedule, cursor: session.cursor,
                            weightsFingerprint: session.model.fingerprint)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = String(decoding: try encoder.encode(header), as: UTF8.self)
        return try SafeTensorsFile.encode(tensors: state.keys.sorted().map { (name: prefix + $0, shape: state[$0]!.shape, floats: state[$0]!.data) },
                                          metadata: [metadataKey: json])
    }

    /// The state for `model`, whose weights must be the ones it was saved with.
    public static func decode(_ data: Data, for model: Model) throws -> TrainingSession {
        let file = try SafeTensorsFile.decode(data)
        guard let json = file.metadata[metadataKey],
              let header = try? JSONDecoder().decode(Header.self, from: Data(json.utf8)), header.format == 1 else {
            throw ModelError.io("not an AdvLens training state (no readable \"\(metadataKey)\" metadata of format 1)")
        }
        guard header.weightsFingerprint == model.fingerprint else {
            throw ModelError.io("the training state belongs to weights \(header.weightsFingerprint), these are \(model.fingerprint)")
        }
        var state: [String: Tensor] = [:]
        for name in file.names {
            guard name.hasPrefix(prefix), let t = file[name] else { throw ModelError.unexpectedWeight(key: name) }
            let key = String(name.dropFirst(prefix.count))
            guard let p = model.parameters.first(where: { key.hasPrefix($0.name + ".") }), t.shape == p.value.shape else {
                throw ModelError.io("optimizer state \"\(name)\" fits no parameter of the model")
            }
            state[key] = Tensor(shape: t.shape, data: t.floats)
        }
        let session = TrainingSession(model: model, optimizer: header.optimizer, schedule: header.schedule, stepCount: header.stepCount)
        session.cursor = header.cursor
        session.restore(optimizerState: state, optimizerSteps: header.optimizerSteps)
        return session
    }
}
