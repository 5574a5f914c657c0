import ArgumentParser
import Foundation
import Protocol
import RPC
import Settings

/// `advlens train`: optimiser steps on a resident model (trainStep), with a progress bar.
/// The daemon keeps the optimiser state, schedule and step count with the model; `model
/// save` writes them beside the weights.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a resident model: standard, PGD (Madry), TRADES or the consistent loss.",
        discussion: """
            Batches come from a loaded dataset as a seeded shuffled stream that continues across \
            calls while --dataset, --batch-size and --seed stay the same. The optimiser and its \
            state stay with the model between calls; naming a different optimiser (or other \
            hyperparameters) starts a fresh one. Left out: the resident one (SGD, lr 0.01 at first).

            Output: the whole result as one line of JSON; --pretty prints a summary. Ctrl-C stops \
            between steps (or inside a step's adversary, which is then not applied): the steps \
            done so far are kept and printed, and the exit status is 130.

            Examples:
              advlens train --model m --dataset mnist-train --steps 500 --optimizer sgd --lr 0.05 --momentum 0.9 --progress
              advlens train --model m --dataset mnist-train --steps 200 --objective consistent \\
                  --lambda 0.1 --layers 8 --adversary fgsm --epsilon 0.3 --pretty
            """)

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("The resident model to train.", valueName: "name"))
    var model: String
    @Option(help: ArgumentHelp("A loaded dataset to draw batches from.", valueName: "name"))
    var dataset: String
    @Option(parsing: .unconditional, help: ArgumentHelp("Images per step (default 64).", valueName: "n"))
    var batchSize: Int?
    @Option(parsing: .unconditional, help: ArgumentHelp("Shuffling and the steps' random choices (default 0).", valueName: "s"))
    var seed: UInt64?
    @Option(parsing: .unconditional, help: ArgumentHelp("Steps to take (default 1).", valueName: "n"))
    var steps: Int?

    @Option(help: ArgumentHelp("standard, pgd, trades or consistent (default standard).", valueName: "kind"))
    var objective: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Weight of the feature distance (consistent; default 1).", valueName: "l"))
    var lambda: Float?
    @Option(parsing: .unconditional, help: ArgumentHelp("Weight of the KL term (trades; default 6).", valueName: "b"))
    var beta: Float?
    @Option(help: ArgumentHelp("Layers compared by the consistent loss (default: the penultimate).", valueName: "list"))
    var layers: String?
    @Option(help: ArgumentHelp("sum (default) or mean of the squared feature differences.", valueName: "r"))
    var featureReduction: String?
    @Option(help: ArgumentHelp("fgsm, pgd, llc or kl (defaults: pgd for pgd, kl for trades, fgsm for consistent).", valueName: "m"))
    var adversary: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("The adversary's budget: a number or a fraction such as 8/255 (default 0.3).", valueName: "e"),
            transform: Fraction.parse)
    var epsilon: Float?
    @Option(parsing: .unconditional, help: ArgumentHelp("The adversary's step size: a number or a fraction (default 0.01).", valueName: "a"),
            transform: Fraction.parse)
    var stepSize: Float?
    @Option(parsing: .unconditional, help: ArgumentHelp("The adversary's steps (default 40).", valueName: "n"))
    var attackSteps: Int?
    @Flag(name: .customLong("no-random-start"), help: "PGD adversary from the clean image.")
    var noRandomStart = false

    @Option(help: ArgumentHelp("sgd, adam or adamw (default: sgd for a model's first step, else the one it has).", valueName: "kind"))
    var optimizer: String?
    @Option(name: .customLong("lr"), parsing: .unconditional, help: ArgumentHelp("Base learning rate (default 0.01 for sgd, 0.001 for adam and adamw).", valueName: "lr"))
    var learningRate: Float?
    @Option(parsing: .unconditional, help: ArgumentHelp("SGD momentum (default 0).", valueName: "m"))
    var momentum: Float?
    @Flag(help: "SGD with Nesterov momentum.")
    var nesterov = false
    @Option(parsing: .unconditional, help: ArgumentHelp("Weight decay (L2 for sgd/adam, decoupled for adamw; default 0, adamw 0.01).", valueName: "wd"))
    var weightDecay: Float?

    @Option(help: ArgumentHelp("constant, step, cosine or linear (keyed on the model's step count; default constant).", valueName: "kind"))
    var schedule: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Linear warmup steps (default 0).", valueName: "n"))
    var warmup: Int?
    @Option(parsing: .unconditional, help: ArgumentHelp("step schedule: steps between decays (no default: required by step).", valueName: "n"))
    var decayEvery: Int?
    @Option(parsing: .unconditional, help: ArgumentHelp("step schedule: the decay factor (default 0.1).", valueName: "g"))
    var gamma: Float?
    @Option(parsing: .unconditional, help: ArgumentHelp("cosine/linear: the step the schedule ends at (no default: required by cosine and linear).", valueName: "n"))
    var totalSteps: Int?
    @Option(name: .customLong("min-lr"), parsing: .unconditional, help: ArgumentHelp("cosine/linear: the final learning rate (default 0).", valueName: "lr"))
    var minLearningRate: Float?

    func validate() throws {
        if optimizer == nil && (learningRate != nil || momentum != nil || nesterov || weightDecay != nil) {
            throw ValidationError("--lr, --momentum, --nesterov and --weight-decay need --optimizer (the optimiser is replaced as a whole)")
        }
        if schedule == nil && (warmup != nil || decayEvery != nil || gamma != nil || totalSteps != nil || minLearningRate != nil) {
            throw ValidationError("--warmup, --decay-every, --gamma, --total-steps and --min-lr need --schedule")
        }
    }

    func params() throws -> TrainStep.Params {
        var p = TrainStep.Params(model: model, dataset: dataset, batchSize: batchSize, seed: seed, steps: steps)
        let hasAdversary = adversary != nil || epsilon != nil || stepSize != nil || attackSteps != nil || noRandomStart
        if objective != nil || lambda != nil || beta != nil || layers != nil || featureReduction != nil || hasAdversary {
            p.objective = TrainStep.Objective(
                kind: try objective.map { try .option($0, field: "objective.kind") } ?? .standard, beta: beta, lambda: lambda,
                layers: layers.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } },
                featureReduction: try featureReduction.map { try .option($0, field: "objective.featureReduction") },
                adversary: hasAdversary ? TrainStep.Adversary(method: try adversary.map { try .option($0, field: "objective.adversary.method") }, epsilon: epsilon, stepSize: stepSize, steps: attackSteps,
                                                              randomStart: noRandomStart ? false : nil) : nil)
        }
        // The settings check themselves as they are made, with the daemon's own rules and words.
        do {
            p.optimizer = try optimizer.map {
                try OptimizerConfig(kind: try .named($0, field: "kind"), learningRate: learningRate, momentum: momentum,
                                    nesterov: nesterov ? true : nil, weightDecay: weightDecay)
            }
        } catch let e as SettingsError { throw ClientError.failed("params.optimizer.\(e.description)") }
        do {
            p.schedule = try schedule.map {
                try LearningRateSchedule(kind: try .named($0, field: "kind"), warmupSteps: warmup, stepSize: decayEvery, gamma: gamma,
                                         totalSteps: totalSteps, minLearningRate: minLearningRate)
            }
        } catch let e as SettingsError { throw ClientError.failed("params.schedule.\(e.description)") }
        return p
    }

    func run() throws {
        let encoded = try Request.params(params())
        var interrupted = false
        var ending = ClientError.interrupted   // Ctrl-C, or the daemon stopping
        let result = try Session.with(global) { session -> JSONValue in
            do {
                return try session.call(TrainStep.method, encoded, cancelGrace: 30)
            } catch ClientError.cancelled(let partial, let reason) {
                ending = reason.map(ClientError.cancelledByDaemon) ?? .interrupted
                interrupted = true
                return partial
            }
        }
        Request.show(result, global) { Self.report(try Request.decode(TrainStep.Result.self, $0), interrupted: interrupted) }
        if interrupted { throw ending }
    }

    static func report(_ r: TrainStep.Result, interrupted: Bool) -> String {
        let o = r.objective
        var objective = o.kind.rawValue
        if let l = o.lambda { objective += ", lambda \(AttackCommand.number(l))" }
        if let b = o.beta { objective += ", beta \(AttackCommand.number(b))" }
        if let layers = o.layers { objective += ", layers \(layers.joined(separator: ","))" + (o.featureReduction == .mean ? " (mean)" : "") }
        if let a = o.adversary {
            objective += "; adversary \(a.method?.rawValue ?? "?") epsilon \(AttackCommand.number(a.epsilon ?? 0))"
            if let n = a.steps, n > 1 { objective += ", \(n) steps of \(AttackCommand.number(a.stepSize ?? 0))" }
        }
        let op = r.optimizer
        var optimizer = "\(op.kind.rawValue) lr \(AttackCommand.number(op.learningRate))"
        if let m = op.momentum, m > 0 { optimizer += ", momentum \(AttackCommand.number(m))" + (op.nesterov == true ? " (Nesterov)" : "") }
        if op.weightDecay > 0 { let wd = op.weightDecay; optimizer += ", weight decay \(AttackCommand.number(wd))" }
        if r.optimizerReset { optimizer += " (new: the previous state was dropped)" }
        var pairs: [(String, String)] = [("objective", objective), ("optimizer", optimizer + "; schedule \(r.schedule.kind.rawValue)")]
        if interrupted { pairs.append(("stopped", "cancelled: \(r.steps) whole steps applied")) }
        pairs.append(("steps", "\(r.steps) (model total \(r.stepCount)), \(Format.fixed(r.stepsPerSecond, 2)) steps/s"))
        let parts = r.parts.keys.sorted().map { "\($0) \(Format.fixed(Double(r.parts[$0]!), 4))" }.joined(separator: ", ")
        pairs.append(("loss", "\(Format.fixed(Double(r.loss), 4)) (mean over the steps)" + (parts.isEmpty ? "" : ": " + parts)))
        var accuracy: [String] = []
        if let c = r.cleanAccuracy { accuracy.append("clean \(Format.percent(c))") }
        if let a = r.adversarialAccuracy { accuracy.append("adversarial \(Format.percent(a))") }
        if !accuracy.isEmpty { pairs.append(("batch accuracy", accuracy.joined(separator: ", "))) }
        if let last = r.history.last { pairs.append(("last step", "loss \(Format.fixed(Double(last.loss), 4)), lr \(AttackCommand.number(last.learningRate))")) }
        pairs.append(("fingerprint", r.fingerprint))
        return Format.keyValues(pairs)
    }
}
