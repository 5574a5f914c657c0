import ArgumentParser
import Foundation
import Protocol
import RPC

/// `advlens evaluate`: clean accuracy, and robust accuracy under one attack or the worst case
/// over a list of attacks, at their budgets or over a curve of epsilons, with the daemon's
/// gradient-masking checks.
struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Clean accuracy of a resident model on a dataset, and robust accuracy under attacks.",
        discussion: """
            --attack takes every parameter of the attack command, under the same names \
            (defaults per method; the result echoes every value used). --attacks takes a list, \
            each method with its own parameters under their wire names: an image is robust only \
            when every attack fails on it, and each attack runs only on the images still robust \
            after the ones before it (put the strongest first) unless --independent. --epsilons \
            gives a robustness curve: every attack's epsilon set to each value (fractions such as \
            8/255 accepted). The report flags signs of gradient masking. Ctrl-C prints the \
            figures over the chunks finished (exit 130).

            Examples:
              advlens evaluate --model m --dataset mnist-test --attack pgd --epsilon 0.3 --steps 40 --pretty
              advlens evaluate --model m --dataset mnist-test --attacks 'pgd(steps=40,stepSize=0.01),fgsm' \\
                  --epsilons 0.1,0.2,0.3 --pretty
            """)

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("The resident model.", valueName: "name"))
    var model: String
    @Option(help: ArgumentHelp("A loaded dataset (e.g. the test part of a split).", valueName: "name"))
    var dataset: String
    @Option(help: ArgumentHelp("fgsm, bim, pgd, mifgsm, cw, deepfool, ... (none: clean accuracy only).", valueName: "method"))
    var attack: String?
    @OptionGroup var settings: AttackSettingsOptions
    @Option(help: ArgumentHelp("Attacks in order, each with its own parameters: pgd(steps=40,stepSize=0.01),fgsm,cw(c=10).", valueName: "list"))
    var attacks: String?
    @Option(help: ArgumentHelp("A robustness curve: every attack's epsilon set to each, e.g. 0.1,0.2,8/255.", valueName: "list"))
    var epsilons: String?
    @Flag(help: "Run every attack on every image (each attack's own robust accuracy) instead of only on those still robust.")
    var independent = false
    @Flag(help: "Per image: which attack broke it; and a handle with the adversarials that did.")
    var perSample = false
    @Option(parsing: .unconditional, help: ArgumentHelp("Images per chunk (default 256).", valueName: "n"))
    var batchSize: Int?

    func validate() throws {
        if attack != nil && attacks != nil { throw ValidationError("give --attack (one, with the attack options) or --attacks (a list), not both") }
        if attacks != nil && settings.anyGiven {
            throw ValidationError("the attack options go with --attack; in --attacks give each attack its parameters: pgd(steps=40)")
        }
        if attack == nil && attacks == nil {
            if settings.anyGiven { throw ValidationError("the attack's parameters need --attack METHOD") }
            if epsilons != nil || independent || perSample { throw ValidationError("--epsilons, --independent and --per-sample need --attack or --attacks") }
        }
        if let attacks { _ = try AttackListOption.parse(attacks) }
        if let epsilons { _ = try AttackListOption.epsilons(epsilons) }
    }

    func run() throws {
        var p = Evaluate.Params(model: model, dataset: dataset, batchSize: batchSize)
        p.attack = try attack.map { try settings.config(method: $0) }
        p.attacks = try attacks.map(AttackListOption.parse)
        p.epsilons = try epsilons.map(AttackListOption.epsilons)
        if independent { p.independent = true }
        if perSample { p.perSample = true }
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
            } else if let robust = r.robustAccuracy {
                pairs.append(("robust accuracy", Format.percent(robust) + " (worst case over every attack)"))
            }
            pairs.append(("time", AttackCommand.elapsed(r.elapsedMs)))
            var out = Format.keyValues(pairs)
            if p.attacks != nil, let curve = r.curve { out += "\n\n" + Self.curveTable(curve) }
            if let checks = r.checks, !checks.isEmpty { out += "\n" }
            for check in r.checks ?? [] { out += "\nwarning (\(check.code.rawValue)): \(check.message)" }
            return out
        }
        if interrupted { throw ending }
    }

    /// One row per point and attack: its own figure (when known), the cumulative one, and the
    /// worst case on the point's last row.
    static func curveTable(_ curve: [Evaluate.CurvePoint]) -> String {
        var t = Table(["epsilon", "attack", "attacked", "broken", "robust alone", "robust cumulative"], rightAligned: [0, 2, 3, 4, 5])
        for point in curve {
            for (i, a) in point.attacks.enumerated() {
                let epsilon = i == 0 ? (point.epsilon ?? a.config.settings.epsilon).map(AttackCommand.number) ?? "-" : ""
                t.add([epsilon, "\(i). \(a.config.settings.method)", String(a.attacked), String(a.broken),
                       a.robustAccuracy.map { Format.percent($0) } ?? "-", Format.percent(a.cumulativeRobustAccuracy)])
            }
        }
        return t.render()
    }
}
