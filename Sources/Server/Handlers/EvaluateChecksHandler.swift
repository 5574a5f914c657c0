import Attacks
import Foundation
import Protocol
import Settings

/// evaluate/checks: the gradient-masking checks of tallies given (a pool's sums over its
/// shards), with the attacks resolved exactly as evaluate resolves them, so the checks are the
/// ones a single evaluate over every image reports. Reads the model (its input box).
extension AdvLensServer {
    func registerEvaluateChecks() {
        register(EvaluateChecks.self, access: { .reads([Self.modelKey($0.model)]) }) { [unowned self] p, _ in
            try evaluateChecks(p)
        }
    }

    private func evaluateChecks(_ p: EvaluateChecks.Params) throws -> EvaluateChecks.Result {
        let model = try workspace.model(p.model).model
        let given = Evaluate.Params(model: p.model, attack: p.attack, attacks: p.attacks, epsilons: p.epsilons, independent: p.independent)
        let (attacks, field) = try Self.evaluationAttacks(given)
        guard !attacks.isEmpty else { throw ServerError.invalidParams("params: give attack (one) or attacks (a list)") }
        let points = try Self.curvePoints(attacks, given, model: model, field: field)
        guard p.tallies.count == points.count else {
            throw ServerError.invalidParams("params.tallies: \(p.tallies.count) tallies for \(points.count) curve points")
        }
        let tallies = try p.tallies.enumerated().map { k, t in try Self.tally(t, members: attacks.count, at: "params.tallies[\(k)]") }
        return EvaluateChecks.Result(checks: Self.maskingChecks(points, tallies))
    }

    /// A wire tally checked (one count per attack, none negative, none above the images) and
    /// made the engine's.
    private static func tally(_ t: Evaluate.Tally, members: Int, at: String) throws -> WorstCaseTally {
        guard t.images >= 0 else { throw ServerError.invalidParams("\(at).images: expected a count >= 0, got \(t.images)") }
        func check(_ value: Int, _ name: String) throws {
            guard (0...t.images).contains(value) else {
                throw ServerError.invalidParams("\(at).\(name): expected 0 to images (\(t.images)), got \(value)")
            }
        }
        try check(t.cleanCorrect, "cleanCorrect")
        for (name, list) in [("attacked", t.attacked), ("broken", t.broken), ("fooled", t.fooled), ("robustAfter", t.robustAfter)] {
            guard list.count == members else { throw ServerError.invalidParams("\(at).\(name): \(list.count) counts for \(members) attacks") }
            for (i, v) in list.enumerated() { try check(v, "\(name)[\(i)]") }
        }
        guard t.brokenWhereOtherFailed.count == members else {
            throw ServerError.invalidParams("\(at).brokenWhereOtherFailed: \(t.brokenWhereOtherFailed.count) rows for \(members) attacks")
        }
        for (a, row) in t.brokenWhereOtherFailed.enumerated() {
            guard row.count == members else {
                throw ServerError.invalidParams("\(at).brokenWhereOtherFailed[\(a)]: \(row.count) counts for \(members) attacks")
            }
            for (b, v) in row.enumerated() { try check(v, "brokenWhereOtherFailed[\(a)][\(b)]") }
        }
        var out = WorstCaseTally(members: members)
        (out.images, out.cleanCorrect, out.attacked, out.broken, out.fooled) = (t.images, t.cleanCorrect, t.attacked, t.broken, t.fooled)
        (out.robustAfter, out.brokenWhereOtherFailed) = (t.robustAfter, t.brokenWhereOtherFailed)
        return out
    }
}
