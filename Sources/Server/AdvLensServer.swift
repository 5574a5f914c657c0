import Files
import Foundation
import Protocol
import RPC
import Store
import TensorEngine

/// The AdvLens JSON-RPC server: a registry of methods, each one `RequestType` of the Protocol
/// module with the access it needs (which model it reads or writes) and its handler.
/// Handlers live in Handlers/, one file per family of methods.
public final class AdvLensServer: RPCHandler, @unchecked Sendable {
    public let workspace: Workspace
    let options: Options
    private var methods: [String: Entry] = [:]
    /// Concept labels of explained units, kept per (weights, layer, reference set).
    let neuronConcepts = NeuronConcepts()

    /// Settings the daemon passes in.
    public struct Options: Sendable {
        public var workers: Int
        public var maxMessageBytes: Int
        /// The cache database for clients whose initialize names none (nil: the XDG default).
        public var cachePath: String?
        /// The size cap of cache databases.
        public var cacheCapBytes: Int
        /// Kept results larger than this go to shard files: `advlensd --shard-threshold`.
        public var shardThresholdBytes: Int
        /// The most bytes any file a client names may hold, or inflate to (datasets, specs,
        /// weights, training states, images): `advlensd --max-file-bytes`.
        public var maxFileBytes: Int
        /// What resident models and datasets may hold together: `advlensd --memory-limit`.
        public var memoryLimitBytes: Int
        public init(workers: Int, maxMessageBytes: Int, cachePath: String? = nil, cacheCapBytes: Int = Store.defaultCapBytes,
                    shardThresholdBytes: Int = Store.defaultShardThresholdBytes, maxFileBytes: Int = ReadLimits.defaultMaxBytes, memoryLimitBytes: Int = MemoryBudget.defaultLimitBytes) {
            self.memoryLimitBytes = memoryLimitBytes
            self.workers = workers
            self.maxMessageBytes = maxMessageBytes
            self.cachePath = cachePath
            self.cacheCapBytes = cacheCapBytes
            self.shardThresholdBytes = shardThresholdBytes
            self.maxFileBytes = maxFileBytes
        }
    }

    struct Entry {
        /// Decodes the params once (on the reader thread) and decides the access.
        let prepare: (JSONValue?) throws -> PreparedRequest
        let run: (RequestContext) throws -> JSONValue
    }

    /// `rootPath`: the daemon's --root, confining clients whose initialize names no root (nil: a
    /// user's own daemon, not confined).
    public init(rootPath: String? = nil, options: Options) {
        workspace = Workspace(rootPath: rootPath, cachePath: options.cachePath, cacheCapBytes: options.cacheCapBytes,
                              shardThresholdBytes: options.shardThresholdBytes,
                              memoryBudget: MemoryBudget(limitBytes: options.memoryLimitBytes))
        self.options = options
        registerLifecycle()
        registerModelMethods()
        registerDatasetMethods()
        registerPredict()
        registerAttack()
        registerProbe()
        registerExplain()
        registerCacheMethods()
        registerTraining()
        registerEvaluateChecks()
        registerHandleCreate()
    }

    /// Adds a method: `access` decides from the params how the request may run beside others,
    /// `run` does the work. Params are decoded once, before `access`, with errors that name
    /// the field (unknown fields included); the worker reuses that decoding.
    func register<R: RequestType>(_ type: R.Type, access: @escaping (R.Params) throws -> Access,
                                  run: @escaping (R.Params, RequestContext) throws -> R.Result) {
        func decode(_ params: JSONValue?) throws -> R.Params {
            try JSONValueCoding.decode(R.Params.self, from: params ?? .object(JSONObject([])))
        }
        methods[R.method] = Entry(
            prepare: { params in
                do {
                    let decoded = try decode(params)
                    return PreparedRequest(access: try access(decoded), decoded: decoded)
                } catch {
                    throw ServerError.from(error)
                }
            },
            run: { context in
                let params = try (context.prepared as? R.Params) ?? decode(context.params)
                return try JSONValueCoding.encode(try run(params, context))
            })
    }

    /// The methods registered, for capabilities.
    var methodNames: [String] { Methods.all.filter { methods[$0] != nil } }

    public func access(for method: String, params: JSONValue?) throws -> Access {
        try prepare(method, params: params).access
    }

    public func prepare(_ method: String, params: JSONValue?) throws -> PreparedRequest {
        guard let entry = methods[method] else { throw RPCError.methodNotFound(method) }
        return try entry.prepare(params)
    }

    public func handle(_ context: RequestContext) throws -> JSONValue {
        guard let entry = methods[context.method] else { throw RPCError.methodNotFound(context.method) }
        // Every file the request reads is bounded by --max-file-bytes and stops when the
        // request is cancelled (ClientFile, Gzip and the loaders read ReadLimits.current).
        let limits = ReadLimits(maxBytes: options.maxFileBytes, shouldStop: { [context] in context.isCancelled })
        do {
            // Under a root, every client file a request opens must really lie inside it.
            return try Confinement.$root.withValue(workspace.paths(for: context.connection).root) {
                // Tensor memory freed by a request is reused by the next and returned to the system
                // once the daemon has been idle (--release-memory-after).
                try ReadLimits.$current.withValue(limits) { try Memory.inUse { try entry.run(context) } }
            }
        } catch {
            throw ServerError.from(error)
        }
    }

    public func notification(method: String, params: JSONValue?) {
        Log.debug("notification \(method)")
    }

    public func connectionClosed(_ connection: Int) {
        workspace.closeSession(connection)
    }
}

/// The names the registries hold, for what is generated from them (the protocol's schemas).
extension AdvLensServer {
    public static var probeKindNames: [String] { ProbeKindRegistry.names }
    public static var explainerNames: [String] { ExplainerRegistry.names }
}
