import JSON
import Data
import Foundation
import NN
import Protocol
import Store
import Training

/// A model the server keeps warm. Requests hold a reference while they run, so replacing or
/// unloading the registry entry never frees a model under a running request; the RPC layer's
/// per-model read/write scheduling makes writes wait for those reads.
public final class ResidentModel: @unchecked Sendable {
    public let name: String
    public let model: Model
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

/// A loaded dataset (in memory or streamed) with how it was loaded.
public struct LoadedDataset: Sendable {
    public var data: Dataset
    public var kind: DatasetLoad.Kind
    public var source: String
    /// Distinct for every load (a dataset loaded again under its name gets a new one): memo
    /// keys use it instead of hashing the images on every request.
    public var serial: Int = LoadedDataset.nextSerial()

    private static let serials = NSLock()
    nonisolated(unsafe) private static var lastSerial = 0
    static func nextSerial() -> Int { serials.withLock { lastSerial += 1; return lastSerial } }

    public var summary: DatasetSummary {
        DatasetSummary(name: data.name, kind: kind, count: data.count, imageShape: data.imageShape, classes: data.classes,
                       classCounts: data.classCounts, source: source,
                       concepts: data.concepts.map { m in zip(m.names, m.kinds).map { DatasetSummary.Concept(name: $0, kind: $1) } },
                       classSimilarity: data.classSimilarity != nil,
                       streamed: data.streamed.map { .init(cacheBytes: $0.cache.capacityBytes, decodedBytes: data.count * data.imageShape.reduce(4, *)) })
    }
}

/// The server's state: resident models and datasets by name, shared by every client, and
/// per client (connection) how its paths resolve (confined to a workspace root, or not). The registries are
/// guarded by a lock held only for lookups and swaps, never during computation.
public final class Workspace: @unchecked Sendable {
    private let lock = NSLock()
    private var models: [String: ResidentModel] = [:]
    private var datasets: [String: LoadedDataset] = [:]
    private let defaultPaths: PathResolver
    /// The cache database for clients whose initialize names none.
    public let defaultCachePath: String
    /// The size cap of every cache database this process opens.
    public let cacheCapBytes: Int
    /// Kept results above this many bytes go to shard files beside the database.
    public let shardThresholdBytes: Int
    /// What resident models and datasets may hold together.
    public let memoryBudget: MemoryBudget
    private var sessions: [Int: Session] = [:]

    /// What one client's initialize set.
    struct Session {
        var paths: PathResolver
        var cachePath: String?
    }

    /// `rootPath` confines clients whose initialize names no root (nil: they are not confined,
    /// and their relative paths resolve against `basePath`); `cachePath` the cache database for
    /// clients whose initialize names none (default: `Store.defaultPath()`).
    public init(rootPath: String?, basePath: String = FileManager.default.currentDirectoryPath, cachePath: String? = nil,
                cacheCapBytes: Int = Store.defaultCapBytes, shardThresholdBytes: Int = Store.defaultShardThresholdBytes,
                memoryBudget: MemoryBudget = MemoryBudget()) {
        defaultPaths = rootPath.map(PathResolver.init(root:)) ?? PathResolver(base: basePath)
        defaultCachePath = Store.canonical(cachePath ?? Store.defaultPath())
        self.cacheCapBytes = cacheCapBytes
        self.shardThresholdBytes = shardThresholdBytes
        self.memoryBudget = memoryBudget
    }

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    /// The path resolver of a connection (confined to its initialize's rootPath, else the daemon's default).
    public func paths(for connection: Int) -> PathResolver { locked { sessions[connection]?.paths ?? defaultPaths } }

    /// The cache database of a connection: its initialize's cachePath (absolute), else the default.
    public func cachePath(for connection: Int) -> String { locked { sessions[connection]?.cachePath ?? defaultCachePath } }

    /// The store of a connection, or the daemon's default store for nil.
    public func store(for connection: Int?) throws -> Store {
        let path = connection.map(cachePath(for:)) ?? defaultCachePath
        guard !path.contains("\0") else { throw ServerError.invalidParams("expected a path without NUL bytes") }
        do {
            return try Store.shared(path: path, capBytes: cacheCapBytes, shardThresholdBytes: shardThresholdBytes)
        } catch {
            throw ServerError.io("cache database \(ClientText.echo(path)): \(error)")
        }
    }

    /// The connection's store: the activation cache, per-unit statistics, kept results and run
    /// logs. One `Store` (one SQLite pool) per file per process, opened on first use; several
    /// daemons may share the file.
    public func store(for connection: Int) throws -> Store { try store(for: Optional(connection)) }

    /// The results (adversarial batches) kept in the connection's cache database.
    public func handles(for connection: Int?) throws -> HandleStore { HandleStore(store: try store(for: connection)) }

    /// A session confined to `rootPath`, else (no root given, and the daemon has no --root)
    /// resolving relative paths against the client's `workingDirectory`. `cachePath` resolves
    /// like any path; a directory holds cache.sqlite.
    public func openSession(_ connection: Int, rootPath: String?, workingDirectory: String? = nil, cachePath: String?) {
        var paths = rootPath.map(PathResolver.init(root:)) ?? defaultPaths
        if paths.root == nil, let workingDirectory { paths = PathResolver(base: workingDirectory) }
        // A path with a NUL byte is kept as given, for store(for:) to refuse (canonical() would
        // percent-encode it into another name).
        let cache = cachePath.map { $0.contains("\0") ? $0 : Store.canonical(Store.databaseFile($0.hasPrefix("/") ? $0 : (paths.base as NSString).appendingPathComponent($0))) }
        locked { sessions[connection] = Session(paths: paths, cachePath: cache) }
    }

    public func closeSession(_ connection: Int) { locked { _ = sessions.removeValue(forKey: connection) } }

    public func model(_ name: String) throws -> ResidentModel {
        guard let m = locked({ models[name] }) else {
            throw ServerError.notFound("no model named \(ClientText.quoted(name)) is loaded (model/list shows the resident ones)")
        }
        return m
    }

    public func setModel(_ m: ResidentModel) { locked { models[m.name] = m } }

    @discardableResult
    public func removeModel(_ name: String) -> ResidentModel? { locked { models.removeValue(forKey: name) } }

    public var allModels: [ResidentModel] { locked { models.values.sorted { $0.name < $1.name } } }

    public func dataset(_ name: String) throws -> LoadedDataset {
        guard let d = locked({ datasets[name] }) else {
            throw ServerError.notFound("no dataset named \(ClientText.quoted(name)) is loaded (dataset/list shows the loaded ones)")
        }
        return d
    }

    public func setDataset(_ d: LoadedDataset) { locked { datasets[d.data.name] = d } }

    public var allDatasets: [LoadedDataset] { locked { datasets.values.sorted { $0.data.name < $1.data.name } } }
}
