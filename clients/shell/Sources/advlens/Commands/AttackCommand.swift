import ArgumentParser
import Foundation
import Protocol
import RPC
import Settings

/// `advlens attack`: adversarial examples against a resident model or a weighted ensemble.
/// The daemon keeps the adversarial batch as a result handle (`predict --handle H`).
struct AttackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attack",
        abstract: "Make adversarial examples against a resident model or an ensemble.",
        discussion: """
            Methods: fgsm, bim, pgd, mifgsm, ensemble-opt, cw, deepfool, ffgsm, apgd, apgd-t, square, fab-t, autoattack. Parameters left out take \
            the method's defaults; the result's config echoes every value used, seed included. \
            The daemon keeps the adversarial batch under a handle (adv-1, ...): give it to \
            `predict --handle H` or `attack --handle H`, list with `handle list`, free with \
            `handle drop H`.

            Output: the whole result as one line of JSON; --pretty prints a summary, a \
            per-sample table (20 rows unless --all-rows), the transfer table (--evaluate-on) \
            and the PNG files written (--png DIR, relative to the current directory). Ctrl-C \
            stops the attack: the best adversarials so far are printed, and the exit status is 130.

            Examples:
              advlens attack --model m --method pgd --dataset mnist-test --all --pretty
              advlens attack --model m --method apgd --loss dlr --dataset mnist-test --indices 0-255
              advlens attack --model m --method autoattack --epsilon 0.3 --dataset mnist-test --indices 0-255
              advlens attack --models a:0.5,b:0.5 --method ensemble-opt \\
                  --dataset mnist-test --indices 0-9 --evaluate-on c --png adv
            """)

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("The resident model to attack.", valueName: "name"))
    var model: String?

    @Option(help: ArgumentHelp("An ensemble to attack: name:weight,name:weight (weights default to 1, normalised).", valueName: "list"))
    var models: String?

    @Option(help: ArgumentHelp("fgsm, bim, pgd, mifgsm, ensemble-opt, cw, deepfool, ffgsm, apgd, apgd-t, square, fab-t or autoattack.", valueName: "method"))
    var method: String

    @OptionGroup var source: InputOptions

    @Option(help: ArgumentHelp("True labels, one per input (dataset and handle inputs carry their own; otherwise the clean predictions).", valueName: "list"))
    var labels: String?

    @OptionGroup var settings: AttackSettingsOptions

    @Option(help: ArgumentHelp("Also judge the adversarial batch on these models: the transfer table (default: none).", valueName: "list"))
    var evaluateOn: String?

    @Option(help: ArgumentHelp("Write one PNG per sample (original | adversarial | perturbation) into this directory (default: none written).", valueName: "dir"))
    var png: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("At most this many PNGs (default 64).", valueName: "n"))
    var pngLimit: Int?
    @Option(parsing: .unconditional, help: ArgumentHelp("PNG pixels per image pixel (default 4).", valueName: "s"))
    var pngScale: Int?

    @Flag(help: "--pretty: every row of the per-sample table and every PNG path, not the first --rows.")
    var allRows = false
    @Option(parsing: .unconditional, help: ArgumentHelp("--pretty: rows of the per-sample table and PNG paths shown (default 20).", valueName: "n"))
    var rows = AttackCommand.rowLimit

    func validate() throws {
        if (model == nil) == (models == nil) { throw ValidationError("give exactly one of --model NAME or --models a:0.5,b:0.5") }
        if let models { _ = try Self.parseModels(models) }
        if let labels { _ = try Self.parseInts(labels, option: "--labels") }
        if let evaluateOn, Self.parseNames(evaluateOn).isEmpty { throw ValidationError("--evaluate-on: no model named") }
        if png == nil && (pngLimit != nil || pngScale != nil) { throw ValidationError("--png-limit and --png-scale need --png DIR") }
    }

    // MARK: parsing

    /// "a:0.5,b:0.5" (or "a,b": weight 1 each). The weight follows the last colon.
    static func parseModels(_ text: String) throws -> [AttackMethod.WeightedModel] {
        var out: [AttackMethod.WeightedModel] = []
        for part in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !part.isEmpty {
            if let colon = part.lastIndex(of: ":") {
                let name = String(part[..<colon]), weightText = String(part[part.index(after: colon)...])
                guard !name.isEmpty, let weight = Float(weightText) else {
                    throw ValidationError("--models: \"\(part)\" is not NAME or NAME:WEIGHT")
                }
                out.append(.init(name: name, weight: weight))
            } else {
                out.append(.init(name: part))
            }
        }
        guard !out.isEmpty else { throw ValidationError("--models: no model named") }
        return out
    }

    static func parseInts(_ text: String, option: String) throws -> [Int] {
        let parts = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let values = parts.compactMap { Int($0) }
        guard !parts.isEmpty, values.count == parts.count else {
            throw ValidationError("\(option): expected class indices such as 3,5,1, got \"\(text)\"")
        }
        return values
    }

    static func parseNames(_ text: String) -> [String] {
        text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    func params() throws -> (params: AttackMethod.Params, names: [String]?) {
        let (inputs, names) = try source.sources()
        var p = AttackMethod.Params(model: model, models: try models.map(Self.parseModels), settings: try settings.config(method: method), inputs: inputs)
        p.labels = try labels.map { try Self.parseInts($0, option: "--labels") }
        p.evaluateOn = evaluateOn.map(Self.parseNames)
        if let png { p.return = .init(png: png, pngLimit: pngLimit, pngScale: pngScale) }
        return (p, names)
    }

    // MARK: run

    /// How long Ctrl-C waits for the daemon's partial result (the attack stops within an
    /// iteration, then writes the PNGs and judges the transfer models on what it has).
    static let cancelGrace = 10.0

    func run() throws {
        let (params, names) = try params()
        let encoded = try Request.params(params)
        var interrupted = false
        var ending = ClientError.interrupted   // Ctrl-C, or the daemon stopping
        let (result, classes) = try Session.with(global) { session -> (JSONValue, [String]?) in
            var result: JSONValue
            do {
                result = try session.call(AttackMethod.method, encoded, cancelGrace: Self.cancelGrace)
            } catch ClientError.cancelled(let partial, let reason) {
                ending = reason.map(ClientError.cancelledByDaemon) ?? .interrupted
                result = partial
                interrupted = true
            }
            // Class names for the table (one short request; the numbers stand in when it fails).
            var classes: [String]?
            if global.pretty, let first = result["config"]?["models"]?[0]?["name"]?.stringValue,
               let list = try? session.client.request(ModelInfo.method, ["name": .string(first)], timeout: 5) {
                classes = list["summary"]?["classes"]?.arrayValue?.compactMap(\.stringValue)
            }
            return (result, classes)
        }
        let cwd = FileManager.default.currentDirectoryPath
        Request.show(result, global) { value in
            Self.report(try Request.decode(AttackMethod.Result.self, value), inputNames: names, files: source.areFiles,
                        classes: classes, rows: allRows ? nil : rows, currentDirectory: cwd)
        }
        if interrupted { throw ending }
    }

    // MARK: the report

    static let rowLimit = 20

    /// The summary block, the per-sample table, the transfer table and the PNG files (the
    /// table and the files cut to `rows`, nil: all).
    static func report(_ r: AttackMethod.Result, inputNames: [String]?, files: Bool, classes: [String]?,
                       rows: Int? = rowLimit, currentDirectory: String) -> String {
        func name(_ c: Int) -> String { classes.flatMap { c >= 0 && c < $0.count ? $0[c] : nil } ?? String(c) }
        let s = r.summary
        // Untargeted attacks count only the samples the model got right before the attack.
        let succeeded = r.samples.filter { $0.success && ($0.target != nil || $0.cleanCorrect) }.count
        let lines = configLines(r.config)
        var pairs: [(String, String)] = [("attack", lines.head), ("config", lines.params)]
        if let more = lines.more { pairs.append(("", more)) }
        if s.stoppedEarly { pairs.append(("stopped", "early (cancelled): the best adversarials found so far")) }
        pairs += [
            ("success", "\(Format.percent(s.successRate)) (\(succeeded)/\(s.attacked) attacked\(s.attacked < s.count ? "; \(s.count - s.attacked) misclassified before the attack" : ""))"),
            ("accuracy", "robust \(Format.percent(s.robustAccuracy)), clean \(Format.percent(s.cleanAccuracy))"),
        ]
        // The daemon's means and medians are over the successful samples only.
        if succeeded > 0 {
            pairs += [("L-inf", "mean \(Format.fixed(Double(s.meanLinf), 4)), median \(Format.fixed(Double(s.medianLinf), 4))"
                           + "  (over the \(succeeded) successful)"),
                      ("L2", "mean \(Format.fixed(Double(s.meanL2), 4)), median \(Format.fixed(Double(s.medianL2), 4))")]
        } else {
            pairs += [("L-inf", "- (no successful sample)"), ("L2", "-")]
        }
        pairs += [
            ("speed", "\(Format.fixed(s.imagesPerSecond, 1)) images/s, \(elapsed(s.elapsedMs)) in the daemon"),
            ("handle", r.handle),
        ]
        var out = Format.keyValues(pairs)

        var t = Table(["index", "label", "target", "adversarial", "success", "L-inf", "L2", "confidence", "iterations"],
                      rightAligned: files ? [5, 6, 7, 8] : [0, 5, 6, 7, 8])
        if files { t.headers[0] = "input" }
        let shown = rows.map { Array(r.samples.prefix($0)) } ?? r.samples
        for x in shown {
            let source = inputNames.flatMap { x.source < $0.count ? $0[x.source] : nil } ?? String(x.source)
            t.add([source, name(x.label), x.target.map(name) ?? "-", name(x.adversarialLabel), x.success ? "✓" : "✗",
                   Format.fixed(Double(x.linf), 4), Format.fixed(Double(x.l2), 4), Format.percent(Double(x.confidence)),
                   String(x.iterations)])
        }
        out += "\n\n" + t.render()
        if shown.count < r.samples.count {
            out += "\n... \(r.samples.count - shown.count) more (--all-rows shows every row)"
        }

        if let transfer = r.transfer, !transfer.isEmpty {
            var tt = Table(["evaluated on", "success", "robust accuracy"], rightAligned: [1, 2])
            for x in transfer { tt.add([x.model, Format.percent(x.successRate), Format.percent(x.robustAccuracy)]) }
            out += "\n\n" + tt.render()
        }

        if let png = r.png {
            let paths = png.map { relative($0, to: currentDirectory) }
            out += "\n\n\(paths.count) PNG file\(paths.count == 1 ? "" : "s") (original | adversarial | perturbation):"
            let listed = rows.map { Array(paths.prefix($0)) } ?? paths
            out += listed.map { "\n  " + $0 }.joined()
            if listed.count < paths.count { out += "\n  ... \(paths.count - listed.count) more" }
        }
        return out
    }

    /// "pgd on trained (b8ddb29e)", then the parameters that matter for the method, in one or two lines.
    static func configLines(_ c: AttackMethod.Config) -> (head: String, params: String, more: String?) {
        let models: String
        if c.models.count == 1 {
            models = "\(c.models[0].name) (\(c.models[0].fingerprint))"
        } else {
            models = "ensemble " + c.models.map { "\($0.name) ×\(number($0.weight))" }.joined(separator: ", ")
        }
        var first: [String] = [c.settings.norm == .l2 ? "L2" : "L-inf"]
        if let e = c.settings.epsilon { first.append("epsilon \(number(e))") }
        if let a = c.settings.stepSize { first.append("step size \(number(a))") }
        if let n = c.settings.steps { first.append("\(n) step\(n == 1 ? "" : "s")") }
        if let r = c.settings.restarts { first.append("\(r) restart\(r == 1 ? "" : "s")") }
        if let rs = c.settings.randomStart { first.append(rs ? "random start" : "no random start") }
        if let mu = c.settings.decay { first.append("decay \(number(mu))") }
        if let lr = c.settings.learningRate { first.append("lr \(number(lr))") }
        if let l = c.settings.lambda { first.append("lambda \(number(l))") }
        if let k = c.settings.kappa { first.append("kappa \(number(k))") }
        if let cc = c.settings.c { first.append("c \(number(cc))") }
        if let b = c.settings.binarySearchSteps { first.append("\(b) binary search step\(b == 1 ? "" : "s")") }
        if let o = c.settings.overshoot { first.append("overshoot \(number(o))") }
        var second: [String] = []
        if c.settings.targeted == true {
            var t = "targeted"
            switch c.settings.target {
            case .random?: t += " (random)"
            case .leastLikely?: t += " (leastLikely)"
            case .given(let list)?: t += " (" + (list.count <= 8 ? list.map(String.init).joined(separator: ",") : "\(list.count) given") + ")"
            case nil: break
            }
            if let per = c.settings.targetsPerImage, per > 1 { t += ", \(per) targets per image" }
            second.append(t)
        } else {
            second.append("untargeted")
        }
        second.append(c.settings.earlyStop != false ? "early stop" : "no early stop")
        second.append("seed \(c.settings.seed ?? 0)")
        let params = first.joined(separator: ", ")
        let rest = second.joined(separator: ", ")
        // One line when it fits a terminal, else two.
        if params.count + rest.count + 2 <= 90 { return ("\(c.settings.method) on \(models)", params + ", " + rest, nil) }
        return ("\(c.settings.method) on \(models)", params, rest)
    }

    /// 0.3 rather than 0.30000001 (floats as the user would write them).
    static func number(_ x: Float) -> String { String(format: "%g", Double(x)) }

    static func elapsed(_ ms: Double) -> String {
        ms < 1000 ? "\(Format.fixed(ms, 1)) ms" : "\(Format.fixed(ms / 1000, 2)) s"
    }

    /// A path under the current directory, written relative to it (as the user gave --png).
    static func relative(_ path: String, to directory: String) -> String {
        let base = directory.hasSuffix("/") ? directory : directory + "/"
        return path.hasPrefix(base) ? String(path.dropFirst(base.count)) : path
    }
}
