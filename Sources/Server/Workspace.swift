import Data
import Foundation
import NN
import Protocol
import Training

/// A model the server keeps warm. Requests hold a reference while they run, so replacing or
/// unloading the registry entry never frees a model under a running request; the RPC layer's
/// per-model read/write scheduling makes writes wait for those reads.
public final class ResidentModel: @unchecked Sendable {
    public let name: String
    public let model: Model
    public let loadedAt = Date()
    /// The optimiser, schedule, step count and batch cursor trainStep keeps between calls
    /// (nil until the first step, or restored by model/load). Touched only under the model's
    /// write access (trainStep) or read access (model/save), which the scheduler serialises.
    public var training: TrainingSession?

    public init(name: String, model: Model, training: TrainingSession? = nil) {
        self.name = name
        self.model = model
        self.training = training
    }

    public var summary: ModelSummary {
        ModelSummary(name: name, architecture: model.spec.name, inputShape: model.inputShape, classes: model.spec.classes,
                     parameters: model.parameterCount, fingerprint: model.fingerprint, trainingSteps: training?.stepCount)
    }
}

/// A dataset in memory with how it was loaded.
public struct LoadedDataset: Sendable {
    public var data: Dataset
    public var kind: String
    public var source: String

    public var summary: DatasetSummary {
        DatasetSummary(name: data.name, kind: kind, count: data.count, imageShape: data.imageShape, classes: data.classes,
                       classCounts: data.classCounts, source: source)
    }
}

/// The server's state: resident models and datasets by name, shared by every client, and
/// per client (connection) the workspace root its paths resolve inside. The registries are
/// guarded by a lock held only for lookups and swaps, never during computation.
public final class Workspace: @unchecked Sendable {
    private let lock = NSLock()
    private var models: [String: ResidentModel] = [:]
    private var datasets: [String: LoadedDataset] = [:]
    private let defaultPaths: PathResolver
    /// Results (adversarial batches) kept for later requests.
    public let handles = HandleStore()
    private var sessions: [Int: Session] = [:]

    /// What one client's initialize set.
    struct Session {
        var paths: PathResolver
        var cachePath: String?
    }

    /// `rootPath` is the root for clients whose initialize names none.
    public init(rootPath: String) {
        defaultPaths = PathResolver(root: rootPath)
    }

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    /// The path resolver of a connection (its initialize's rootPath, or the default root).
    public func paths(for connection: Int) -> PathResolver { locked { sessions[connection]?.paths ?? defaultPaths } }

    public func cachePath(for connection: Int) -> String? { locked { sessions[connection]?.cachePath } }

    public func openSession(_ connection: Int, rootPath: String?, cachePath: String?) {
        let paths = rootPath.map(PathResolver.init(root:)) ?? defaultPaths
        locked { sessions[connection] = Session(paths: paths, cachePath: cachePath) }
    }

    public func closeSession(_ connection: Int) { locked { _ = sessions.removeValue(forKey: connection) } }

    public func model(_ name: String) throws -> ResidentModel {
        guard let m = locked({ models[name] }) else {
            throw ServerError.notFound("no model named \"\(name)\" is loaded (model/list shows the resident ones)")
        }
        return m
    }

    public func setModel(_ m: ResidentModel) { locked { models[m.name] = m } }

    @discardableResult
    public func removeModel(_ name: String) -> ResidentModel? { locked { models.removeValue(forKey: name) } }

    public var allModels: [ResidentModel] { locked { models.values.sorted { $0.name < $1.name } } }

    public func dataset(_ name: String) throws -> LoadedDataset {
        guard let d = locked({ datasets[name] }) else {
            throw ServerError.notFound("no dataset named \"\(name)\" is loaded (dataset/list shows the loaded ones)")
        }
        return d
    }

    public func setDataset(_ d: LoadedDataset) { locked { datasets[d.data.name] = d } }

    public var allDatasets: [LoadedDataset] { locked { datasets.values.sorted { $0.data.name < $1.data.name } } }
}
