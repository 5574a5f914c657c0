import Foundation
import NN
import TensorEngine
import TestSupport
import Settings
import XCTest
@testable import Attacks

/// The worst case over a list of attacks on a real (small) model, and each gradient-masking
/// check on constructed tallies: it fires on the sign it names and stays quiet without it.
final class WorstCaseTests: XCTestCase {
    func config(_ method: AttackConfig.MethodName, _ set: (inout AttackConfig) -> Void = { _ in }) -> AttackConfig {
        var c = AttackConfig(method: method)
        set(&c)
        return c
    }

    func point(_ attacks: [AttackConfig], epsilon: Float? = nil, independent: Bool = false) throws -> WorstCase {
        try WorstCase.point(attacks, epsilon: epsilon, independent: independent, lower: 0, upper: 1, itemCount: 784, field: { "attacks[\($0)]." })
    }

    // MARK: the worst case on a model

    func testAnImageIsRobustOnlyWhenEveryAttackFails() throws {
        let model = try tinyClassifier(seed: 3)
        let images = TestTensors.uniform([24, 1, 8, 8], 0, 1, seed: 4)
        let predicted = try model.predict(images).argmaxRows()
        var labels = predicted
        for i in stride(from: 0, to: 24, by: 6) { labels[i] = (labels[i] + 1) % 4 }   // four clean mistakes
        let ensemble = Ensemble(model)
        let attacks = [config(.fgsm) { $0.epsilon = 0.05 }, config(.pgd) { $0.epsilon = 0.05; $0.steps = 5; $0.stepSize = 0.02 }]

        let alone = try attacks.map { a in
            try Attack.run(a, on: ensemble, images: images, labels: labels).samples.map { $0.adversarialLabel != $0.label }
        }
        let independent = try point(attacks, independent: true).run(on: ensemble, images: images, labels: labels, cleanPredictions: predicted)
        let cumulative = try point(attacks).run(on: ensemble, images: images, labels: labels, cleanPredictions: predicted)
        XCTAssertFalse(independent.stopped || cumulative.stopped)
        let clean = zip(predicted, labels).map { $0 == $1 }
        XCTAssertEqual(independent.outcome.cleanCorrect, clean)
        // Robust: correct, and neither attack broke it (FGSM alone runs on every image in both modes).
        for i in 0..<24 {
            XCTAssertEqual(cumulative.outcome.broken[0][i], clean[i] && alone[0][i], "image \(i)")
            XCTAssertEqual(cumulative.outcome.attacked[1][i], clean[i] && !alone[0][i], "PGD runs only where FGSM failed: \(i)")
        }
        XCTAssertEqual(independent.outcome.attacked[1], clean, "independent: PGD on every correct image")
        XCTAssertEqual(cumulative.outcome.robust, independent.outcome.robust, "the same worst case whichever the mode")
        XCTAssertTrue(cumulative.outcome.robust.contains(true) && cumulative.outcome.robust.contains(false), "a test that can tell")
        for i in 0..<24 where !cumulative.outcome.robust[i] && clean[i] {
            let by = try XCTUnwrap(cumulative.outcome.brokenBy[i])
            let again = try model.predict(cumulative.outcome.adversarial.gather([i])).argmaxRows()[0]
            XCTAssertEqual(again, cumulative.outcome.adversarialLabel[i], "the kept adversarial is the one that broke it")
            XCTAssertNotEqual(again, labels[i])
            XCTAssertLessThanOrEqual(cumulative.outcome.linf[i]!, 0.05 + 1e-5)
            XCTAssertTrue(by == 0 || !alone[0][i])
        }
        var tally = WorstCaseTally(members: 2)
        tally.add(cumulative.outcome)
        XCTAssertEqual(tally.images, 24)
        XCTAssertEqual(tally.robust, cumulative.outcome.robust.filter { $0 }.count)
        XCTAssertEqual(tally.alone(0), Double(clean.indices.filter { clean[$0] && !alone[0][$0] }.count) / 24)
    }

    func testACurvePointSetsEveryEpsilonAndAttacksWithoutOneAreHeldToIt() throws {
        let p = try point([config(.pgd), config(.cw)], epsilon: 0.1)
        XCTAssertEqual(p.members[0].config.epsilon, 0.1)
        XCTAssertEqual(p.members[0].budget, 0.1)
        XCTAssertNil(p.members[1].config.epsilon)
        XCTAssertEqual(p.members[1].budget, 0.1, "C&W's adversarials count only within the point's budget")
        XCTAssertTrue(p.members[1].unbounded)
        XCTAssertEqual(p.norm, .linf)
        XCTAssertTrue(try point([config(.fgsm)], epsilon: 1).members[0].unbounded, "an L-inf budget of 1 covers the box [0, 1]")
        XCTAssertThrowsError(try point([config(.fgsm), config(.pgd) { $0.epsilon = 0.2 }], epsilon: 0.1)) { e in
            XCTAssertEqual((e as? SettingsError)?.field, "attacks[1].epsilon")
        }
        XCTAssertThrowsError(try point([config(.pgd) { $0.norm = .l2 }, config(.fgsm)])) { e in
            XCTAssertEqual((e as? SettingsError)?.field, "attacks[1].norm")
        }
    }

    // MARK: the checks on constructed tallies

    /// A tally of `images` all correct, with each member's attacked and broken counts.
    func tally(images: Int = 100, attacked: [Int], broken: [Int], fooled: [Int]? = nil, brokenWhereOtherFailed: [[Int]]? = nil) -> WorstCaseTally {
        var t = WorstCaseTally(members: attacked.count)
        (t.images, t.cleanCorrect, t.attacked, t.broken, t.fooled) = (images, images, attacked, broken, fooled ?? broken)
        var robust = images
        t.robustAfter = broken.map { robust -= $0; return robust }
        if let brokenWhereOtherFailed { t.brokenWhereOtherFailed = brokenWhereOtherFailed }
        return t
    }

    func codes(_ p: WorstCase, _ t: WorstCaseTally) -> [MaskingCheckCode] {
        MaskingChecks.run([.init(worstCase: p, tally: t)]).map(\.code)
    }

    func testIterativeWeakerThanSingleStep() throws {
        let pgd = config(.pgd) { $0.steps = 10 }
        // Independent: each attack's own robust accuracy.
        let both = try point([pgd, config(.fgsm)], epsilon: 0.3, independent: true)
        XCTAssertEqual(codes(both, tally(attacked: [100, 100], broken: [40, 60])), [.iterativeWeakerThanSingleStep])
        XCTAssertEqual(codes(both, tally(attacked: [100, 100], broken: [60, 40])), [])
        XCTAssertEqual(codes(both, tally(attacked: [100, 100], broken: [60, 61])), [], "within the tolerance")
        // In order: FGSM after PGD breaks what PGD left.
        let ordered = try point([pgd, config(.fgsm)], epsilon: 0.3)
        let t = tally(attacked: [100, 60], broken: [40, 20], brokenWhereOtherFailed: [[0, 0], [20, 0]])
        let checks = MaskingChecks.run([.init(worstCase: ordered, tally: t)])
        XCTAssertEqual(checks.map(\.code), [.iterativeWeakerThanSingleStep])
        XCTAssertEqual(checks.first?.attacks, [0, 1])
        XCTAssertTrue(checks.first?.message.contains("20.0%") ?? false, checks.first?.message ?? "")
        // FGSM first: PGD never saw FGSM's failures alone, so nothing can be said.
        let reversed = try point([config(.fgsm), pgd], epsilon: 0.3)
        XCTAssertEqual(codes(reversed, tally(attacked: [100, 50], broken: [50, 0], brokenWhereOtherFailed: [[0, 0], [0, 0]])), [])
        // Different budgets are not compared.
        let apart = try point([pgd, config(.fgsm) { $0.epsilon = 0.5 }], independent: true)
        XCTAssertEqual(codes(apart, tally(attacked: [100, 100], broken: [40, 60])), [])
    }

    func testRobustAccuracyMustFallWithEpsilon() throws {
        let fgsm = [config(.fgsm)]
        func at(_ e: Float, robust: Int) throws -> MaskingChecks.Point {
            .init(worstCase: try point(fgsm, epsilon: e), tally: tally(attacked: [100], broken: [100 - robust]))
        }
        // Given out of order: read in order of epsilon, 0.3 (45%) is above 0.2's 40%.
        let rising = MaskingChecks.run([try at(0.1, robust: 50), try at(0.3, robust: 45), try at(0.2, robust: 40)])
        XCTAssertEqual(rising.map(\.code), [.notMonotoneInEpsilon])
        XCTAssertEqual(rising.first?.epsilon, 0.3)
        XCTAssertEqual(MaskingChecks.run([try at(0.1, robust: 50), try at(0.3, robust: 20), try at(0.2, robust: 40)]).count, 0)
        XCTAssertEqual(MaskingChecks.run([try at(0.1, robust: 50), try at(0.2, robust: 50)]).count, 0, "flat is not rising")
    }

    func testUnboundedAttacksMustBreakEverything() throws {
        let cw = try point([config(.cw)])
        let incomplete = MaskingChecks.run([.init(worstCase: cw, tally: tally(attacked: [100], broken: [90]))])
        XCTAssertEqual(incomplete.map(\.code), [.unboundedAttackIncomplete])
        XCTAssertTrue(incomplete[0].message.contains("90.0%") && incomplete[0].message.contains("no budget"), incomplete[0].message)
        XCTAssertEqual(codes(cw, tally(attacked: [100], broken: [100])), [])
        // Held to a curve's budget C&W breaks fewer, but it misclassified them all: fine.
        let held = try point([config(.cw)], epsilon: 0.1)
        XCTAssertEqual(codes(held, tally(attacked: [100], broken: [30], fooled: [100])), [])
        // A budget that covers the box is no budget.
        let box = try point([config(.fgsm)], epsilon: 1)
        let covered = MaskingChecks.run([.init(worstCase: box, tally: tally(attacked: [100], broken: [70]))])
        XCTAssertEqual(covered.map(\.code), [.unboundedAttackIncomplete])
        XCTAssertTrue(covered[0].message.contains("covers the whole input box"), covered[0].message)
        XCTAssertEqual(codes(try point([config(.fgsm)], epsilon: 0.3), tally(attacked: [100], broken: [70])), [])
    }

    func testBlackBoxMustNotBeatWhiteBox() throws {
        // No black-box method in the registry yet: its traits are constructed (as a score-based
        // method's definition would give them).
        let white = try point([config(.pgd) { $0.steps = 10 }, config(.fgsm)], epsilon: 0.3)
        let blackConfig = try config(.bim).resolved()
        let black = WorstCase.Member(config: blackConfig, traits: AttackTraits(usesGradients: false, takesEpsilon: true, epsilon: 0.3, steps: 5000),
                                     budget: 0.3, unbounded: false)
        func with(_ independent: Bool) -> WorstCase {
            WorstCase(members: white.members + [black], norm: .linf, independent: independent, epsilon: 0.3)
        }
        // In order (Square last, as in AutoAttack): it broke 5 of what both left.
        let ordered = tally(attacked: [100, 40, 40], broken: [60, 0, 5], brokenWhereOtherFailed: [[0, 0, 0], [0, 0, 0], [5, 5, 0]])
        let checks = MaskingChecks.run([.init(worstCase: with(false), tally: ordered)])
        XCTAssertEqual(checks.map(\.code), [.blackBoxStrongerThanWhiteBox])
        XCTAssertEqual(checks.first?.attacks, [0, 2], "the weaker, then the stronger")
        let none = tally(attacked: [100, 40, 40], broken: [60, 0, 0])
        XCTAssertEqual(codes(with(false), none), [])
        // Independent: against the strongest white-box attack's own robust accuracy.
        XCTAssertEqual(codes(with(true), tally(attacked: [100, 100, 100], broken: [60, 30, 58])), [], "below PGD's 60")
        XCTAssertEqual(codes(with(true), tally(attacked: [100, 100, 100], broken: [60, 30, 70])), [.blackBoxStrongerThanWhiteBox])
    }

    /// The registry's attacks say which use gradients: Square is the only black-box one, so the
    /// black-box check compares it with all the others.
    func testOnlySquareIsBlackBox() throws {
        let black = AttackRegistry.all.filter { !$0.usesGradients }.map { $0.name.rawValue }
        XCTAssertEqual(black, ["square"])
    }
}
