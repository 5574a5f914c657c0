/// `initialize`: the first request of every session, as in LSP.
public enum Initialize: RequestType {
    public static let method = "initialize"

    public struct Params: Codable, Sendable {
        public var processId: Int?
        public var clientInfo: ClientInfo?
        /// Confines this connection to a workspace root: every path it names must resolve
        /// inside it, relative ones against it (default: the daemon's --root; without either,
        /// paths are taken as given, relative ones against the daemon's working directory).
        public var rootPath: String?
        /// The client's working directory: without rootPath, this connection's relative paths
        /// resolve against it (default: the daemon's working directory). Not a confinement.
        public var workingDirectory: String?
        /// The cache database: activation cache, kept results, run logs (default: the daemon's
        /// --cache, else $XDG_CACHE_HOME/advlens/cache.sqlite). A directory holds cache.sqlite;
        /// a relative path resolves like any other path.
        public var cachePath: String?
        public var capabilities: ClientCapabilities?
        public init(processId: Int? = nil, clientInfo: ClientInfo? = nil, rootPath: String? = nil, workingDirectory: String? = nil,
                    cachePath: String? = nil, capabilities: ClientCapabilities? = nil) {
            self.processId = processId
            self.clientInfo = clientInfo
            self.rootPath = rootPath
            self.workingDirectory = workingDirectory
            self.cachePath = cachePath
            self.capabilities = capabilities
        }
    }

    public struct ClientInfo: Codable, Sendable {
        public var name: String
        public var version: String?
        public init(name: String, version: String? = nil) { self.name = name; self.version = version }
    }

    public struct ClientCapabilities: Codable, Sendable {
        /// Whether the client shows `$/progress` for requests that carry a workDoneToken.
        public var workDoneProgress: Bool?
        public init(workDoneProgress: Bool? = nil) { self.workDoneProgress = workDoneProgress }
    }

    public struct Result: Codable, Sendable {
        public var serverInfo: ServerInfo
        public var capabilities: ServerCapabilities
        /// The cache database this session uses (absolute); absent if it could not be opened
        /// (the daemon's log says why, and methods that need it fail with -32012).
        public var cachePath: String?
        public init(serverInfo: ServerInfo, capabilities: ServerCapabilities, cachePath: String? = nil) {
            self.serverInfo = serverInfo
            self.capabilities = capabilities
            self.cachePath = cachePath
        }
    }

    public struct ServerInfo: Codable, Sendable {
        public var name: String
        public var version: String
        public init(name: String, version: String) { self.name = name; self.version = version }
    }

    /// What this server can do. A method is listed only once it works.
    public struct ServerCapabilities: Codable, Sendable {
        public var methods: [String]
        public var notifications: [String]
        public var architectures: [String]
        public var layerTypes: [String]
        public var datasetKinds: [String]
        public var inputKinds: [String]
        public var attacks: [String]
        public var explainers: [String]
        public var objectives: [String]
        public var engine: Engine
        public var limits: Limits
        public init(methods: [String], notifications: [String], architectures: [String], layerTypes: [String], datasetKinds: [String],
                    inputKinds: [String], attacks: [String], explainers: [String], objectives: [String], engine: Engine, limits: Limits) {
            self.methods = methods
            self.notifications = notifications
            self.architectures = architectures
            self.layerTypes = layerTypes
            self.datasetKinds = datasetKinds
            self.inputKinds = inputKinds
            self.attacks = attacks
            self.explainers = explainers
            self.objectives = objectives
            self.engine = engine
            self.limits = limits
        }
    }

    /// The compute engine behind the server.
    public struct Engine: Codable, Sendable {
        /// OpenBLAS kernel family in use, e.g. "SkylakeX".
        public var blasCore: String
        /// "auto" (chosen by the server's re-exec), "user" (OPENBLAS_CORETYPE set) or "openblas".
        public var blasCoreSelection: String
        public var blasThreads: Int
        public var blas: String
        public var cores: Int
        public var workers: Int
        public init(blasCore: String, blasCoreSelection: String, blasThreads: Int, blas: String, cores: Int, workers: Int) {
            self.blasCore = blasCore
            self.blasCoreSelection = blasCoreSelection
            self.blasThreads = blasThreads
            self.blas = blas
            self.cores = cores
            self.workers = workers
        }
    }

    public struct Limits: Codable, Sendable {
        public var maxMessageBytes: Int
        public var maxBatch: Int
        public init(maxMessageBytes: Int, maxBatch: Int) { self.maxMessageBytes = maxMessageBytes; self.maxBatch = maxBatch }
    }
}

/// `shutdown`: the server finishes, answers, and then only waits for `exit`.
public enum Shutdown: RequestType {
    public static let method = "shutdown"
    public typealias Params = NoParams
    public typealias Result = EmptyResult
}
