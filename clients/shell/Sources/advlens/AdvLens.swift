import ArgumentParser
import Foundation
import RPC
#if canImport(Glibc)
import Glibc
#endif

/// `advlens`: the shell client. A thin command over the AdvLens daemon: each invocation
/// connects to the per-user daemon (starting it on demand), sends one request, prints the
/// result (JSON by default, tables with --pretty) and leaves the daemon and its warm models.
@main
struct AdvLens: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "advlens",
        abstract: "The AdvLens shell client: talks to a warm advlensd over a per-user Unix socket.",
        discussion: """
            Results go to stdout as one line of JSON (for jq), or as tables with --pretty. \
            Errors go to stderr; the exit status is 1 when the daemon answers with an error, \
            2 for a wrong command line, 3 when no daemon can be reached or started, 130 after Ctrl-C.
            """,
        version: Session.clientVersion,
        subcommands: [PredictCommand.self, AttackCommand.self, ExplainCommand.self, ModelCommand.self, DatasetCommand.self, HandleCommand.self,
                      CallCommand.self, DaemonCommand.self, ProbeCommand.self, CacheCommand.self, TrainCommand.self, EvaluateCommand.self])

    @OptionGroup var global: GlobalOptions

    static func main() {
        signal(SIGPIPE, SIG_IGN)
        let command: ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            finish(with: error)
        }
        do {
            var command = command
            try command.run()
            Glibc.exit(0)
        } catch {
            finish(with: error)
        }
    }

    /// Reports `error` and exits with its status (help and --version exit 0 on stdout).
    static func finish(with error: Error) -> Never {
        if let e = error as? ClientError {
            if let m = e.message { Output.error(m) }
            Glibc.exit(e.exitStatus)
        }
        if let code = error as? ExitCode { Glibc.exit(code.rawValue) }
        let code = exitCode(for: error)
        if code == .success {
            Output.text(fullMessage(for: error))
            Glibc.exit(0)
        }
        if code == .validationFailure {
            // Usage errors: ArgumentParser's message and usage line, status 2 as documented.
            Output.error(fullMessage(for: error))
            Glibc.exit(2)
        }
        Output.error("advlens: \(message(for: error))")
        Glibc.exit(code.rawValue == 0 ? 1 : code.rawValue)
    }
}

/// Shared by the commands: send one request, print its result.
enum Request {
    /// Runs `method` in a session and prints the result: JSON, or `pretty(result)` with --pretty.
    static func run(_ options: GlobalOptions, _ method: String, _ params: JSONValue? = nil,
                    pretty: ((JSONValue) throws -> String)? = nil) throws {
        let result = try Session.with(options) { try $0.call(method, params) }
        show(result, options, pretty)
    }

    static func show(_ result: JSONValue, _ options: GlobalOptions, _ pretty: ((JSONValue) throws -> String)?) {
        guard options.pretty else { return Output.json(result) }
        if let pretty, let text = try? pretty(result) {
            Output.text(text)
        } else {
            Output.prettyJSON(result)
        }
    }

    /// Encodes a protocol params value as JSON.
    static func params<T: Encodable>(_ value: T) throws -> JSONValue {
        do {
            return try JSONValueCoding.encode(value)
        } catch {
            throw ClientError.failed("cannot encode the request: \(error)")
        }
    }

    /// Decodes a result into its protocol type (for tables).
    static func decode<T: Decodable>(_ type: T.Type, _ value: JSONValue) throws -> T {
        try JSONValueCoding.decode(type, from: value, path: "result")
    }
}
