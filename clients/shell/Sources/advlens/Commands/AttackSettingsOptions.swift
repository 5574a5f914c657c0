import ArgumentParser
import Foundation
import Attacks
import Settings

/// The attack's settings as shell options: one group that `attack`, `evaluate` and `probe`'s
/// attack on the fly share, so every command takes every parameter, under the same names.
/// It builds the Settings module's `AttackConfig`, the one definition the daemon decodes; each
/// option's help lists the methods' defaults, read from the Attacks registry (`AttackDefaults`).
struct AttackSettingsOptions: ParsableArguments {
    // Numbers are taken as given (even "-1") and checked by the daemon, which names the field.
    @Option(help: ArgumentHelp("linf or l2 (pgd, apgd, apgd-t, square, fab-t, autoattack); the other methods have one norm." + Self.defaults(.norm), valueName: "norm"))
    var norm: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Perturbation budget (L-inf or L2 radius): a number or a fraction such as 8/255." + Self.defaults(.epsilon), valueName: "e"),
            transform: Fraction.parse)
    var epsilon: Float?
    @Option(parsing: .unconditional, help: ArgumentHelp("Step size per iteration: a number or a fraction such as 2/255." + Self.defaults(.stepSize), valueName: "a"),
            transform: Fraction.parse)
    var stepSize: Float?
    @Option(parsing: .unconditional, help: ArgumentHelp("Iterations." + Self.defaults(.steps), valueName: "n"))
    var steps: Int?
    @Option(parsing: .unconditional, help: ArgumentHelp("Random restarts (pgd, apgd, apgd-t)." + Self.defaults(.restarts), valueName: "r"))
    var restarts: Int?
    @Flag(name: .customLong("no-random-start"), help: "Start pgd at the clean image instead of a random point of the ball (default: a random start).")
    var noRandomStart = false
    @Option(parsing: .unconditional, help: ArgumentHelp("Momentum decay mu (mifgsm)." + Self.defaults(.decay), valueName: "mu"))
    var decay: Float?
    @Flag(help: "A targeted attack (the target defaults to random). Default: untargeted, except ensemble-opt (always targeted).")
    var targeted = false
    @Option(help: ArgumentHelp("random, leastLikely, or one class per input: 3,5,1 (implies --targeted). Default: random when targeted.", valueName: "target"))
    var target: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Targets per image (ensemble-opt)." + Self.defaults(.targetsPerImage), valueName: "t"))
    var targetsPerImage: Int?
    @Option(parsing: .unconditional, help: ArgumentHelp("Confidence margin kappa (cw)." + Self.defaults(.kappa), valueName: "k"))
    var kappa: Float?
    @Option(name: .customLong("c"), parsing: .unconditional, help: ArgumentHelp("Initial trade-off constant c (cw)." + Self.defaults(.c), valueName: "c"))
    var c: Float?
    @Option(parsing: .unconditional, help: ArgumentHelp("Binary search steps over c (cw)." + Self.defaults(.binarySearchSteps), valueName: "b"))
    var binarySearchSteps: Int?
    @Option(name: .customLong("lr"), parsing: .unconditional, help: ArgumentHelp("Adam learning rate (cw, ensemble-opt)." + Self.defaults(.learningRate), valueName: "lr"))
    var learningRate: Float?
    @Option(parsing: .unconditional, help: ArgumentHelp("Weight of the L2 distance (ensemble-opt)." + Self.defaults(.lambda), valueName: "l"))
    var lambda: Float?
    @Option(parsing: .unconditional, help: ArgumentHelp("Overshoot (deepfool)." + Self.defaults(.overshoot), valueName: "o"))
    var overshoot: Float?
    @Option(help: ArgumentHelp("Objective of apgd and apgd-t: ce or dlr." + Self.defaults(.loss), valueName: "loss"))
    var loss: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Target classes per image (apgd-t, fab-t)." + Self.defaults(.targetClasses), valueName: "n"))
    var targetClasses: Int?
    @Option(parsing: .unconditional, help: ArgumentHelp("Query budget per image (square)." + Self.defaults(.queries), valueName: "n"))
    var queries: Int?
    @Option(parsing: .unconditional, help: ArgumentHelp("Fraction of the image the first square covers (square)." + Self.defaults(.squareFraction), valueName: "p"))
    var squareFraction: Float?
    @Option(name: .customLong("autoattack-version"), help: ArgumentHelp("AutoAttack's ensemble: standard or rand (autoattack)." + Self.defaults(.version), valueName: "v"))
    var autoAttackVersion: String?
    @Flag(name: .customLong("no-early-stop"), help: "Keep iterating on samples that already succeeded. Default: a sample stops once it succeeded.")
    var noEarlyStop = false
    @Option(parsing: .unconditional, help: ArgumentHelp("Seed of random starts and random targets (default 0).", valueName: "s"))
    var seed: UInt64?

    func validate() throws {
        if let target { _ = try Self.parseTarget(target) }
    }

    /// " Default: fgsm 0.3, pgd 0.3 (l2: 2), ..." for a help text, from the registry.
    static func defaults(_ field: AttackConfig.Field) -> String {
        let text = AttackDefaults.text(field)
        return text.isEmpty ? "" : " Default: \(text)."
    }

    /// Whether any parameter was given (commands that attack only on request check it).
    var anyGiven: Bool {
        let values: [Any?] = [norm, epsilon, stepSize, steps, restarts, decay, target, targetsPerImage, kappa, c, binarySearchSteps,
                              learningRate, lambda, overshoot, loss, targetClasses, queries, squareFraction, autoAttackVersion, seed]
        return values.contains { $0 != nil } || noRandomStart || targeted || noEarlyStop
    }

    /// The settings for `method` (unset parameters are left to the method's defaults).
    func config(method: String) throws -> AttackConfig {
        var a = AttackConfig(method: .init(rawValue: method))
        if let norm {
            guard let n = Norm(rawValue: norm) else { throw ValidationError("--norm: \(Norm.unknown(norm))") }
            a.norm = n
        }
        (a.epsilon, a.stepSize, a.steps, a.restarts, a.decay) = (epsilon, stepSize, steps, restarts, decay)
        if noRandomStart { a.randomStart = false }
        a.target = try target.map(Self.parseTarget)
        if targeted || a.target != nil { a.targeted = true }
        (a.targetsPerImage, a.kappa, a.c, a.binarySearchSteps) = (targetsPerImage, kappa, c, binarySearchSteps)
        (a.learningRate, a.lambda, a.overshoot, a.seed) = (learningRate, lambda, overshoot, seed)
        if let loss {
            guard let l = AttackConfig.LossName(rawValue: loss) else { throw ValidationError("--loss: \(AttackConfig.LossName.unknown(loss))") }
            a.loss = l
        }
        (a.targetClasses, a.queries, a.squareFraction) = (targetClasses, queries, squareFraction)
        if let autoAttackVersion {
            guard let v = AttackConfig.AutoAttackVersion(rawValue: autoAttackVersion) else {
                throw ValidationError("--autoattack-version: \(AttackConfig.AutoAttackVersion.unknown(autoAttackVersion))")
            }
            a.version = v
        }
        if noEarlyStop { a.earlyStop = false }
        return a
    }

    /// random | leastLikely (least-likely too) | 3,5,1.
    static func parseTarget(_ text: String) throws -> TargetChoice {
        switch text.lowercased().replacingOccurrences(of: "-", with: "").replacingOccurrences(of: "_", with: "") {
        case "random": return .random
        case "leastlikely", "ll": return .leastLikely
        default:
            guard let list = try? AttackCommand.parseInts(text, option: "--target") else {
                throw ValidationError("--target: expected random, leastLikely or class indices such as 3,5,1, got \"\(text)\"")
            }
            return .given(list)
        }
    }
}
