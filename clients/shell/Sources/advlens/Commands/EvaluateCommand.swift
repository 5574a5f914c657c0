import ArgumentParser
import Foundation
import Protocol
import RPC

/// `advlens evaluate`: clean accuracy, and robust accuracy under an attack, on a dataset.
struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Clean accuracy of a resident model on a dataset, and robust accuracy under an attack.",
        discussion: """
            The attack takes every parameter of the attack command, under the same names \
            (defaults per method; the result echoes every value used). Ctrl-C prints the figures over the chunks finished (exit 130).

            Example:
              advlens evaluate --model m --dataset mnist-test --attack pgd --epsilon 0.3 --steps 40 --pretty
            """)

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("The resident model.", valueName: "name"))
    var model: String
    @Option(help: ArgumentHelp("A loaded dataset (e.g. the test part of a split).", valueName: "name"))
    var dataset: String
    @Option(help: ArgumentHelp("fgsm, bim, pgd, mifgsm, cw, deepfool, ... (none: clean accuracy only).", valueName: "method"))
    var attack: String?
    @OptionGroup var settings: AttackSettingsOptions
    @Option(parsing: .unconditional, help: ArgumentHelp("Images per chunk (default 256).", valueName: "n"))
    var batchSize: Int?

    func validate() throws {
        if attack == nil && settings.anyGiven { throw ValidationError("the attack's parameters need --attack METHOD") }
    }

    func run() throws {
        var p = Evaluate.Params(model: model, dataset: dataset, batchSize: batchSize)
        p.attack = try attack.map { try settings.config(method: $0) }
        let encoded = try Request.params(p)
        var interrupted = false
        var ending = ClientError.interrupted   // Ctrl-C, or the daemon stopping
        let result = try Session.with(global) { session -> JSONValue in
            do {
                return try session.call(Evaluate.method, encoded, cancelGrace: 10)
            } catch ClientError.cancelled(let partial, let reason) {
                ending = reason.map(ClientError.cancelledByDaemon) ?? .interrupted
                interrupted = true
                return partial
            }
        }
        Request.show(result, global) { value in
            let r = try Request.decode(Evaluate.Result.self, value)
            var pairs: [(String, String)] = [("model", "\(model) (\(r.fingerprint)) on \(dataset)")]
            if interrupted { pairs.append(("stopped", "cancelled: figures over the first \(r.count) images")) }
            pairs.append(("images", String(r.count)))
            pairs.append(("clean accuracy", Format.percent(r.cleanAccuracy)))
            if let robust = r.robustAccuracy, let c = r.attack {
                let lines = AttackCommand.configLines(c)
                pairs.append(("robust accuracy", Format.percent(robust) + " under \(c.settings.method): " + lines.params))
            }
            pairs.append(("time", AttackCommand.elapsed(r.elapsedMs)))
            return Format.keyValues(pairs)
        }
        if interrupted { throw ending }
    }
}
