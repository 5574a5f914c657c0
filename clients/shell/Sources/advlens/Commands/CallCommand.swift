import ArgumentParser
import Foundation
import RPC

/// `advlens call METHOD [PARAMS] [METHOD [PARAMS]]...`: raw requests, in one session.
struct CallCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "call",
        abstract: "Send raw JSON-RPC requests and print each result.",
        discussion: """
            Each METHOD may be followed by its params: a JSON object or array, '-' to read \
            them from stdin, or @FILE to read them from a file. Several requests run in order \
            in one session (so `advlens --no-daemon call model/create '{...}' predict '{...}'` \
            works in a private daemon); each result is printed on its own line. The first error \
            stops the rest.


            Examples: advlens call model/list
                      echo '{"name":"m"}' | advlens call model/info -
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("METHOD [PARAMS], repeated.", valueName: "method-and-params"))
    var items: [String]

    func validate() throws {
        _ = try requests(readingStdin: false)
    }

    /// The (method, params) pairs the arguments spell (validation leaves stdin unread).
    func requests(readingStdin: Bool = true) throws -> [(method: String, params: JSONValue?)] {
        var out: [(method: String, params: JSONValue?)] = []
        var stdinUsed = false
        for raw in items {
            let item = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if item == "-" || item.hasPrefix("@") || item.hasPrefix("{") || item.hasPrefix("[") {
                guard let last = out.last, last.params == nil else {
                    throw ValidationError("params \(item.prefix(40)) must follow a method name")
                }
                let text: String
                if item == "-" {
                    guard !stdinUsed else { throw ValidationError("'-' (params from stdin) can be given once") }
                    stdinUsed = true
                    guard readingStdin else { out[out.count - 1].params = .object(JSONObject()); continue }
                    text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
                } else if item.hasPrefix("@") {
                    let path = String(item.dropFirst())
                    guard let data = FileManager.default.contents(atPath: path) else {
                        throw ValidationError("cannot read params file \(path)")
                    }
                    text = String(decoding: data, as: UTF8.self)
                } else {
                    text = item
                }
                let value: JSONValue
                do {
                    value = try JSONText.parse(text.trimmingCharacters(in: .whitespacesAndNewlines))
                } catch let e as JSONError {
                    throw ValidationError("params of \(last.method) are not valid JSON: \(e.message)")
                }
                guard value.objectValue != nil || value.arrayValue != nil else {
                    throw ValidationError("params of \(last.method) must be a JSON object or array, got \(value.kindName)")
                }
                out[out.count - 1].params = value
            } else {
                guard !item.isEmpty, !item.hasPrefix("-") else { throw ValidationError("\"\(item)\" is not a method name") }
                out.append((item, nil))
            }
        }
        guard !out.isEmpty else { throw ValidationError("give a METHOD") }
        return out
    }

    func run() throws {
        let list = try requests()
        try Session.with(global) { session in
            for r in list {
                let result = try session.call(r.method, r.params)
                if global.pretty { Output.prettyJSON(result) } else { Output.json(result) }
            }
        }
    }
}
