import ArgumentParser
import Foundation
import RPC
#if canImport(Glibc)
import Glibc
#endif

/// Options every command that talks to the daemon takes.
struct GlobalOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The daemon's Unix socket.",
                               discussion: "Default: $ADVLENS_SOCKET, else $XDG_RUNTIME_DIR/advlens/daemon.sock, else /tmp/advlens-$UID/daemon.sock.",
                               valueName: "path"))
    var socket: String?

    @Flag(help: "Print tables for a person instead of one line of JSON.")
    var pretty = false

    @Flag(inversion: .prefixedNo, help: "Show a progress bar on stderr for long requests (default: when stderr is a terminal).")
    var progress: Bool?

    @Flag(name: .customLong("no-daemon"), help: "Run a private advlensd over stdio for this one command instead of the shared daemon.")
    var noDaemon = false

    @Option(help: ArgumentHelp("Confine this command's paths to a directory: the daemon refuses any outside it (for a shared daemon).",
                               discussion: "Default: none; paths are read and written where they point, relative ones against the current directory.",
                               valueName: "dir"))
    var root: String?

    var showsProgress: Bool { progress ?? Output.stderrIsTerminal }
}

/// One connection to a daemon for the life of a command: initialize (workingDirectory = the
/// current directory, so paths on the command line mean what the user typed; rootPath only with
/// --root), the command's requests, then shutdown and exit for this connection only (the
/// shared daemon and its models stay).
final class Session {
    let client: RPCClient
    /// The initialize result (serverInfo, capabilities).
    private(set) var server: JSONValue = .null
    private var child: Process?

    static let clientVersion = "0.1.0"

    /// Connects to the shared daemon (starting it when nothing answers), or with --no-daemon
    /// starts a private one over pipes.
    static func open(_ options: GlobalOptions) throws -> Session {
        let session: Session
        if options.noDaemon {
            session = try privateDaemon(root: options.root)
        } else {
            let paths = try DaemonPaths.resolve(option: options.socket)
            session = try shared(paths, root: options.root)
        }
        if options.showsProgress { session.client.progress = ProgressDisplay(terminal: Output.stderrIsTerminal) }
        return session
    }

    /// The shared daemon. A daemon that stops just as we connect (its idle timeout) is
    /// started again, once.
    static func shared(_ paths: DaemonPaths, root: String? = nil) throws -> Session {
        var attempt = 0
        while true {
            attempt += 1
            try DaemonControl.ensureRunning(paths)
            do {
                let fd: Int32
                do {
                    fd = try UnixSocketServer.connect(path: paths.socket)
                } catch {
                    throw ClientError.unreachable("cannot connect to the daemon at \(paths.socket): \(error)")
                }
                let session = Session(client: RPCClient(input: fd, output: fd))
                try session.initialize(root: root)
                return session
            } catch ClientError.unreachable where attempt == 1 {
                usleep(100_000)
            }
        }
    }

    /// `advlensd` over stdin/stdout for this one command.
    static func privateDaemon(root: String? = nil) throws -> Session {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Spawn.locateDaemon())
        process.arguments = ["--log-level", "warning"]
        let toDaemon = Pipe(), fromDaemon = Pipe()
        process.standardInput = toDaemon
        process.standardOutput = fromDaemon
        process.standardError = FileHandle.standardError
        do {
            try process.run()
        } catch {
            throw ClientError.unreachable("cannot start advlensd: \(error.localizedDescription)")
        }
        let input = dup(fromDaemon.fileHandleForReading.fileDescriptor)
        let output = dup(toDaemon.fileHandleForWriting.fileDescriptor)
        try? fromDaemon.fileHandleForReading.close()
        try? toDaemon.fileHandleForWriting.close()
        let session = Session(client: RPCClient(input: input, output: output))
        session.child = process
        try session.initialize(root: root)
        return session
    }

    private init(client: RPCClient) {
        self.client = client
    }

    private func initialize(root: String?) throws {
        var params: JSONObject = [
            "processId": JSONValue(Int(getpid())),
            "clientInfo": ["name": "advlens", "version": .string(Session.clientVersion)],
            "workingDirectory": .string(FileManager.default.currentDirectoryPath),
            "capabilities": ["workDoneProgress": true],
        ]
        if let root { params["rootPath"] = .string(root.hasPrefix("/") ? root : FileManager.default.currentDirectoryPath + "/" + root) }
        server = try client.request("initialize", .object(params), timeout: 30)
        try client.notify("initialized")
    }

    /// A request of the command: progress shown, Ctrl-C cancels it (and waits `cancelGrace` s
    /// for the daemon's answer, which may carry a partial result).
    func call(_ method: String, _ params: JSONValue? = nil, cancelGrace: Double = 2) throws -> JSONValue {
        Interrupt.install()
        defer { signal(SIGINT, SIG_DFL) }
        return try client.request(method, params ?? .object(JSONObject()), workDone: true, interruptible: true, cancelGrace: cancelGrace)
    }

    /// shutdown + exit for this connection (bounded), then close; a private daemon is awaited.
    /// After Ctrl-C (`graceful` false) the connection is just closed: the daemon cleans up.
    func close(graceful: Bool = true) {
        if graceful {
            _ = try? client.request("shutdown", nil, timeout: 5)
            try? client.notify("exit")
        }
        client.close()
        if let child {
            if !graceful && child.isRunning { child.terminate() }
            let deadline = Date(timeIntervalSinceNow: 5)
            while child.isRunning && Date() < deadline { usleep(5_000) }
            if child.isRunning { child.terminate() }
        }
    }

    /// Opens a session, runs `body`, closes the session whatever happens.
    static func with<T>(_ options: GlobalOptions, _ body: (Session) throws -> T) throws -> T {
        let session = try open(options)
        do {
            let result = try body(session)
            session.close()
            return result
        } catch ClientError.interrupted {
            session.close(graceful: false)
            throw ClientError.interrupted
        } catch {
            session.close()
            throw error
        }
    }
}
