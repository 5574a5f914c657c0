import ArgumentParser
import Files
import Foundation
import Protocol
import RPC
import Server
import Store
import TensorEngine
#if canImport(Glibc)
import Glibc
#endif

/// `advlensd`: the AdvLens daemon. JSON-RPC 2.0 over stdin/stdout (LSP's Content-Length
/// framing or newline-delimited JSON, detected from the first byte), or over a Unix socket
/// serving many clients. Models stay warm for the life of the process.
@main
struct Daemon: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "advlensd",
        abstract: "The AdvLens daemon: JSON-RPC over stdio (default) or a Unix socket. See protocol/README.md.")

    @Option(help: "Serve a Unix socket instead of stdio: unix:PATH (the socket is created with mode 0600).")
    var listen: String?
    @Option(name: .customLong("log-level"), help: "error, warning, info, debug or trace (logs go to stderr).")
    var logLevel = "info"
    @Option(help: "Requests computed at once (default: the number of cores, at least 2).")
    var workers: Int?
    @Option(help: "Confine clients whose initialize names no rootPath to this directory: their paths must resolve inside it (-32013 otherwise), relative ones against it. For a shared or remote daemon (default: none; paths are taken as given, relative ones against the working directory).")
    var root: String?
    @Option(name: .customLong("max-message-bytes"), help: "Largest message accepted.")
    var maxMessageBytes = 64 << 20
    @Option(help: "The cache database (activations, kept results, run logs) for clients whose initialize names none; a directory holds cache.sqlite (default: $XDG_CACHE_HOME/advlens/cache.sqlite).")
    var cache: String?
    @Option(name: .customLong("cache-limit"), help: "Size cap of the cache database in bytes; cache rows are evicted least recently used first above it.")
    var cacheLimit: Int = 4 << 30
    @Option(name: .customLong("shard-threshold"), help: "Kept results (handles) whose images take more bytes than this are written as safetensors shard files beside the cache database instead of into its rows; the cache limit counts them alike (default: 64 MiB).")
    var shardThreshold: Int = Store.defaultShardThresholdBytes
    @Option(name: .customLong("max-file-bytes"), help: "Largest file a client may name (datasets, model specs and weights, training states, images), and the most a gzip file may inflate to; reads stop there with -32011 (default: 8 GiB).")
    var maxFileBytes = ReadLimits.defaultMaxBytes
    @Option(name: .customLong("memory-limit"), help: "What resident models and datasets may hold in memory together, in bytes; a model or dataset past it is refused with -32011 (default: 3/4 of physical memory).")
    var memoryLimit = MemoryBudget.defaultLimitBytes
    @Option(name: .customLong("idle-timeout"), help: "With --listen: exit after this many seconds without a client (0: never).")
    var idleTimeout: Double = 0
    @Option(name: .customLong("max-connections"), help: "With --listen: most clients at once; one more gets error -32011 \"too many connections\" and is closed.")
    var maxConnections = 256
    @Option(name: .customLong("max-queued-output"), help: "Most reply bytes left unread by a client: a reply arriving while this many wait closes its connection and cancels its requests.")
    var maxQueuedOutput = 64 << 20
    @Option(name: .customLong("output-stall-timeout"), help: "Seconds a client may leave replies unread (no byte taken) before its connection is closed and its requests cancelled.")
    var outputStallTimeout: Double = 30
    @Option(name: .customLong("drain-timeout"), help: "On SIGTERM: seconds running requests get to finish before they are cancelled and answered with their partial results (they then get as long again to answer).")
    var drainTimeout: Double = 5
    @Option(name: .customLong("release-memory-after"), help: "Seconds without a running request after which the memory freed tensors leave is returned to the system; until then it is reused by the next tensors, which spares the page faults of fresh memory (0: as soon as the last request ends).")
    var releaseMemoryAfter: Double = 10

    func validate() throws {
        guard Log.Level(name: logLevel) != nil else {
            throw ValidationError("--log-level must be one of error, warning, info, debug, trace")
        }
        if let listen, !listen.hasPrefix("unix:") || listen.count <= 5 {
            throw ValidationError("--listen takes unix:PATH")
        }
        if let workers, workers < 1 { throw ValidationError("--workers must be at least 1") }
        if maxFileBytes < 1 { throw ValidationError("--max-file-bytes must be a positive number of bytes") }
        if cacheLimit < 1 { throw ValidationError("--cache-limit must be a positive number of bytes") }
        if shardThreshold < 0 { throw ValidationError("--shard-threshold must be a number of bytes (0: every result to shards)") }
        if memoryLimit < 1 { throw ValidationError("--memory-limit must be a positive number of bytes") }
        if let cache, cache.isEmpty { throw ValidationError("--cache takes a file path") }
        if maxConnections < 1 { throw ValidationError("--max-connections must be at least 1") }
        if maxQueuedOutput < 1 { throw ValidationError("--max-queued-output must be a positive number of bytes") }
        if !(outputStallTimeout > 0) { throw ValidationError("--output-stall-timeout must be a positive number of seconds") }
        if !(drainTimeout >= 0 && drainTimeout <= 3600) { throw ValidationError("--drain-timeout must be 0...3600 seconds") }
        if !(releaseMemoryAfter >= 0 && releaseMemoryAfter <= 86_400) { throw ValidationError("--release-memory-after must be 0...86400 seconds") }
    }

    func run() throws {
        Log.level = Log.Level(name: logLevel)!
        Memory.releaseAfterIdle = releaseMemoryAfter
        var options = ConnectionOptions()
        options.maxMessageBytes = maxMessageBytes
        if let workers { options.workers = workers }
        options.maxConnections = maxConnections
        options.maxQueuedOutputBytes = maxQueuedOutput
        options.outputStallTimeout = outputStallTimeout
        options.drainTimeout = drainTimeout
        options.connectionLimitCode = AdvLensErrorCode.resourceLimit
        let server = AdvLensServer(rootPath: root,
                                   options: .init(workers: options.workers, maxMessageBytes: maxMessageBytes,
                                                  cachePath: cache.map { Store.databaseFile($0.hasPrefix("/") ? $0 : FileManager.default.currentDirectoryPath + "/" + $0) },
                                                  cacheCapBytes: cacheLimit, shardThresholdBytes: shardThreshold,
                                                  maxFileBytes: maxFileBytes, memoryLimitBytes: memoryLimit))
        Log.info("cache database \(server.workspace.defaultCachePath) (cap \(cacheLimit) bytes)")
        Log.info("advlensd \(AdvLensServer.version): OpenBLAS core \(BLAS.coreName) (\(BLASCore.selection)), \(BLAS.threads) BLAS threads, \(options.workers) workers")
        if let listen {
            let path = String(listen.dropFirst("unix:".count))
            let socket = try UnixSocketServer(path: path, handler: server, options: options, idleTimeout: idleTimeout > 0 ? idleTimeout : nil)
            // SIGTERM / SIGINT stop the server cleanly: the socket file goes, running requests get
            // --drain-timeout to finish, then are cancelled and answered with their partial results.
            var sources: [DispatchSourceSignal] = []
            for sig in [SIGTERM, SIGINT] {
                signal(sig, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
                source.setEventHandler {
                    Log.info("signal \(sig): stopping")
                    socket.stop()
                }
                source.resume()
                sources.append(source)
            }
            Log.info("listening on \(path)")
            socket.run()
            sources.forEach { $0.cancel() }
            Store.checkpointAll()
            throw ExitCode.success
        }
        let protocolOutput = try StdoutGuard.redirect()
        let connection = Connection(input: STDIN_FILENO, output: protocolOutput, handler: server, options: options)
        // SIGTERM on stdio: as on a socket, running requests get --drain-timeout to finish, then
        // are answered with their partial results; the process then exits 1 (no shutdown).
        signal(SIGTERM, SIG_IGN)
        let term = DispatchSource.makeSignalSource(signal: SIGTERM, queue: .global())
        term.setEventHandler {
            Log.info("signal \(SIGTERM): stopping")
            connection.drain(grace: drainTimeout, reason: UnixSocketServer.stoppingReason)
            Store.checkpointAll()
            Glibc.exit(1)
        }
        term.resume()
        let code = connection.run()
        term.cancel()
        // A clean exit leaves the cache database whole in its main file (no -wal needed).
        Store.checkpointAll()
        throw ExitCode(code)
    }

    static func main() {
        BLASCore.reexecWithBestCoreIfNeeded()
        // Before any worker thread allocates: the one-arena setting binds only threads that
        // have not allocated yet.
        Memory.configure()
        signal(SIGPIPE, SIG_IGN)
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}
