import Interpret
import Protocol
import Settings

/// One probe kind: its wire name, the reductions it reads, whether it takes an adversarial
/// set, and its runner (from the checked request to its part of the result). Each kind is one
/// file in this folder; `ProbeKindRegistry` lists them, so adding a kind is that file and one
/// line there.
protocol ProbeKind {
    static var name: Probe.Kind { get }
    /// The reductions a request may name; `defaultReduction` when it names none.
    static var reductions: [ActivationReduction] { get }
    static var defaultReduction: ActivationReduction { get }
    static var adversarialSet: ProbeAdversarialSet { get }
    static func run(_ server: AdvLensServer, _ request: AdvLensServer.ProbeRequest, _ result: inout Probe.Result) throws
}

/// Whether a probe kind reads `adversarial`.
enum ProbeAdversarialSet: Sendable {
    /// Not read (a request that gives one is not refused; the set is not made).
    case unused
    case optional
    /// Refused without one: `params.adversarial: <kind> needs an adversarial set`.
    case required
}

extension ProbeKind {
    /// The request's reduction, or the error naming the ones this kind reads.
    static func reduction(_ asked: ActivationReduction?) throws -> ActivationReduction {
        guard let asked else { return defaultReduction }
        guard reductions.contains(asked) else {
            throw ServerError.invalidParams("params.reduction: expected \(reductions.map { "\"\($0.rawValue)\"" }.joined(separator: " or ")) for \(name), got \"\(asked.rawValue)\"")
        }
        return asked
    }
}
