import ArgumentParser
import Foundation
import Protocol
import RPC

/// `advlens daemon status|start|stop`: the shared per-user daemon.
struct DaemonCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "daemon",
        abstract: "The shared daemon: status, start, stop.",
        discussion: """
            Commands start the daemon on demand (advlensd --listen unix:SOCKET --idle-timeout 900), \
            so `start` is only needed to choose the idle timeout or to warm up ahead of time. \
            advlensd is found through $ADVLENSD, else beside advlens, else on PATH; its log is \
            written beside the socket.
            """,
        subcommands: [Status.self, Start.self, Stop.self])

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Whether the daemon runs: pid, uptime, resident models. Exit 1 if not running.")
        @OptionGroup var options: GlobalOptions

        func validate() throws { try DaemonCommand.refuseNoDaemon(options) }

        func run() throws {
            let paths = try DaemonPaths.resolve(option: options.socket)
            guard UnixSocketServer.isServing(path: paths.socket) else {
                if options.pretty {
                    Output.text("advlensd is not running (socket \(paths.socket))")
                } else {
                    Output.json(["running": false, "socket": .string(paths.socket)])
                }
                throw ExitCode(1)
            }
            let pid = DaemonControl.daemonPID(paths)
            let session = try Session.shared(paths)
            defer { session.close() }
            let models = try session.client.request(ModelList.method, .object(JSONObject()), timeout: 30)["models"] ?? []
            let datasets = try session.client.request(DatasetList.method, .object(JSONObject()), timeout: 30)["datasets"] ?? []
            var status: JSONObject = ["running": true, "socket": .string(paths.socket)]
            status["pid"] = pid.map { JSONValue(Int($0)) } ?? .null
            status["uptimeSeconds"] = pid.flatMap(DaemonControl.uptime).map { JSONValue(($0 * 10).rounded() / 10) } ?? .null
            status["version"] = session.server["serverInfo"]?["version"] ?? .null
            status["engine"] = session.server["capabilities"]?["engine"] ?? .null
            status["log"] = .string(paths.logFile)
            status["models"] = models
            status["datasets"] = datasets
            guard options.pretty else { return Output.json(.object(status)) }

            let engine = session.server["capabilities"]?["engine"]
            var lines: [(String, String)] = [("status", "running"), ("socket", paths.socket),
                                             ("pid", pid.map { String($0) } ?? "unknown")]
            if let up = status["uptimeSeconds"]?.doubleValue { lines.append(("uptime", Format.duration(up))) }
            if let v = status["version"]?.stringValue { lines.append(("version", v)) }
            if let core = engine?["blasCore"]?.stringValue {
                lines.append(("engine", "OpenBLAS \(core), \(engine?["blasThreads"]?.intValue ?? 0) BLAS threads, \(engine?["workers"]?.intValue ?? 0) workers"))
            }
            lines.append(("log", paths.logFile))
            let modelList = (try? Request.decode([ModelSummary].self, models)) ?? []
            let datasetList = (try? Request.decode([DatasetSummary].self, datasets)) ?? []
            lines.append(("models", modelList.isEmpty ? "none" : modelList.map(\.name).joined(separator: ", ")))
            lines.append(("datasets", datasetList.isEmpty ? "none" : datasetList.map(\.name).joined(separator: ", ")))
            var text = Format.keyValues(lines)
            if !modelList.isEmpty { text += "\n\n" + ModelCommand.table(modelList) }
            Output.text(text)
        }
    }

    struct Start: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start the daemon now (commands also start it on demand).")
        @OptionGroup var options: GlobalOptions
        @Option(name: .customLong("idle-timeout"),
                help: "Seconds without clients before the daemon exits (0: never; default $ADVLENS_IDLE_TIMEOUT or 900).")
        var idleTimeout: Double?

        func validate() throws {
            try DaemonCommand.refuseNoDaemon(options)
            if let idleTimeout, idleTimeout < 0 { throw ValidationError("--idle-timeout must be 0 or more") }
        }

        func run() throws {
            let paths = try DaemonPaths.resolve(option: options.socket)
            let started = try DaemonControl.ensureRunning(paths, idleTimeout: idleTimeout)
            let pid = started ?? DaemonControl.daemonPID(paths)
            if options.pretty {
                let what = started != nil ? "started" : "already running"
                Output.text("advlensd \(what) (pid \(pid.map { String($0) } ?? "unknown"), socket \(paths.socket))")
            } else {
                Output.json(["running": true, "started": .bool(started != nil), "pid": pid.map { JSONValue(Int($0)) } ?? .null,
                             "socket": .string(paths.socket), "log": .string(paths.logFile)])
            }
        }
    }

    struct Stop: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop the daemon (SIGTERM) and wait until its socket is gone.")
        @OptionGroup var options: GlobalOptions

        func validate() throws { try DaemonCommand.refuseNoDaemon(options) }

        func run() throws {
            let paths = try DaemonPaths.resolve(option: options.socket)
            let outcome = try DaemonControl.stop(paths)
            var json: JSONObject = ["socket": .string(paths.socket)]
            let text: String
            switch outcome {
            case .notRunning:
                json["stopped"] = false
                text = "advlensd is not running (socket \(paths.socket))"
            case .stopped(let pid):
                json["stopped"] = true
                json["pid"] = JSONValue(Int(pid))
                text = "advlensd stopped (pid \(pid))"
            case .killed(let pid):
                json["stopped"] = true
                json["pid"] = JSONValue(Int(pid))
                json["killed"] = true
                text = "advlensd killed (pid \(pid)): it did not stop within \(Int(DaemonControl.stopTimeout)) s of SIGTERM"
            }
            if options.pretty { Output.text(text) } else { Output.json(.object(json)) }
        }
    }

    static func refuseNoDaemon(_ options: GlobalOptions) throws {
        if options.noDaemon { throw ValidationError("--no-daemon does not apply to the daemon commands") }
    }
}
