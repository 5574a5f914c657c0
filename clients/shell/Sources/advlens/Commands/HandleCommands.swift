import ArgumentParser
import Foundation
import Protocol
import RPC

/// `advlens handle ...`: results the daemon keeps (an attack's adversarial batch).
struct HandleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "handle",
        abstract: "List and drop the results the daemon keeps (adversarial batches).",
        discussion: """
            An attack's adversarial batch is kept in the daemon's cache database under a handle \
            (adv-1, adv-2, ...) until it is dropped; it survives a restart of the daemon. \
            `predict --handle H` and `attack --handle H` take it as input.
            """,
        subcommands: [List.self, Drop.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The kept results, with what made them.")
        @OptionGroup var global: GlobalOptions

        func run() throws {
            try Request.run(global, HandleList.method) {
                HandleCommand.table(try Request.decode(HandleList.Result.self, $0))
            }
        }
    }

    struct Drop: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Free a kept result.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The handle, e.g. adv-1.") var handle: String

        func run() throws {
            try Request.run(global, HandleDrop.method, try Request.params(HandleDrop.Params(handle: handle))) { _ in
                "dropped \(handle)"
            }
        }
    }

    /// handle | kind | images | shape | size | made against | settings, then the totals.
    static func table(_ r: HandleList.Result) -> String {
        let total = "\(Format.bytes(r.totalBytes)) kept, limit \(Format.bytes(r.limitBytes))"
        guard !r.handles.isEmpty else { return "no results kept (\(total))" }
        var t = Table(["handle", "kind", "images", "shape", "size", "models", "settings"], rightAligned: [2, 4])
        for h in r.handles {
            let p = provenance(h.provenance)
            t.add([h.handle, h.kind, Format.grouped(h.count), Format.shape(h.imageShape), Format.bytes(h.bytes), p.models, p.settings])
        }
        return t.render() + "\n\n\(r.handles.count) result\(r.handles.count == 1 ? "" : "s"), " + total
    }

    /// The models and the main settings from a provenance (the attack's config as JSON text).
    static func provenance(_ text: String) -> (models: String, settings: String) {
        guard let value = try? JSONText.parse(text),
              let config = try? JSONValueCoding.decode(AttackMethod.Config.self, from: value, path: "provenance") else {
            return ("-", String(text.prefix(60)))
        }
        let models = config.models.map { config.models.count == 1 ? $0.name : "\($0.name) ×\(AttackCommand.number($0.weight))" }
            .joined(separator: ", ")
        let a = config.settings
        var settings: [String] = [a.norm == .l2 ? "L2" : "L-inf"]
        if let e = a.epsilon { settings.append("eps \(AttackCommand.number(e))") }
        if let n = a.steps { settings.append("\(n) step\(n == 1 ? "" : "s")") }
        if a.targeted == true { settings.append("targeted") }
        settings.append("seed \(a.seed ?? 0)")
        return (models, settings.joined(separator: ", "))
    }
}
