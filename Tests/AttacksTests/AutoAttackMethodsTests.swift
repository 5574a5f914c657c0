import Foundation
import NN
import TensorEngine
import TestSupport
import Settings
import XCTest
@testable import Attacks

/// APGD, APGD-T, Square and FAB-T on a small model: they stay in their ball and the input range,
/// hit their targets, follow their schedules, respect Square's query budget without any
/// gradient, reproduce from the seed, stop on cancel with what they have.
final class AutoAttackMethodsTests: XCTestCase {
    var model: Model!
    var images: Tensor!
    var labels: [Int]!

    override func setUpWithError() throws {
        let spec = ModelSpec(name: "tiny", input: InputSpec(shape: [1, 8, 8], range: [0, 1]), classes: (0..<4).map(String.init), layers: [
            .conv2d("0", 1, 6, kernel: 3, padding: 1), LayerSpec(name: "1", type: "relu"), .pool("maxpool2d", "2", kernel: 2),
            LayerSpec(name: "3", type: "flatten"), .linear("4", 96, 4),
        ])
        model = try Model(spec: spec)
        model.initialize(seed: 3)
        images = TestTensors.uniform([12, 1, 8, 8], 0, 1, seed: 4)
        labels = try model.predict(images).argmaxRows()
    }

    func run(_ method: AttackConfig.MethodName, monitor: AttackMonitor = AttackMonitor(),
             _ configure: (inout AttackConfig) -> Void = { _ in }) throws -> AttackResult {
        var c = AttackConfig(method: method)
        configure(&c)
        return try Attack.run(c, on: Ensemble(model), images: images, labels: labels, monitor: monitor)
    }

    func assertInBounds(_ r: AttackResult, linf: Float? = nil, l2: Float? = nil, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertGreaterThanOrEqual(r.adversarial.data.min()!, 0, file: file, line: line)
        XCTAssertLessThanOrEqual(r.adversarial.data.max()!, 1, file: file, line: line)
        if let linf { XCTAssertLessThanOrEqual(r.samples.map(\.linf).max()!, linf + 1e-5, file: file, line: line) }
        if let l2 { XCTAssertLessThanOrEqual(r.samples.map(\.l2).max()!, l2 * (1 + 1e-5), file: file, line: line) }
        XCTAssertEqual(r.samples.map(\.adversarialLabel), try model.predict(r.adversarial).argmaxRows(), file: file, line: line)
    }

    func testCheckpointScheduleIsThePapers() {
        let s = APGDRun.schedule(steps: 100)
        XCTAssertEqual([s.first, s.decrease, s.minimum], [22, 3, 6])
        // p_j: 0, 0.22, then gaps shrinking by 0.03 down to 0.06.
        var gap = s.first, at = 0, checkpoints: [Int] = []
        while at + gap <= 100 { at += gap; checkpoints.append(at); gap = max(gap - s.decrease, s.minimum) }
        XCTAssertEqual(Array(checkpoints.prefix(5)), [22, 41, 57, 70, 80])
    }

    func testAPGDStaysInItsBallAndFools() throws {
        for loss in [AttackConfig.LossName.ce, .dlr] {
            let linf = try run(.apgd) { $0.epsilon = 0.1; $0.steps = 20; $0.loss = loss; $0.earlyStop = false }
            try assertInBounds(linf, linf: 0.1)
            XCTAssertEqual(linf.config.restarts, 1)
            let l2 = try run(.apgd) { $0.norm = .l2; $0.epsilon = 0.5; $0.steps = 20; $0.loss = loss }
            try assertInBounds(l2, l2: 0.5)
        }
        let strong = try run(.apgd) { $0.epsilon = 0.5; $0.steps = 30 }
        XCTAssertGreaterThan(strong.successRate, 0.9)
        let again = try run(.apgd) { $0.epsilon = 0.5; $0.steps = 30 }
        XCTAssertEqual(strong.adversarial, again.adversarial, "same seed, same images")
    }

    /// With the same budget APGD is no weaker than PGD with its default step on this model.
    func testAPGDAtLeastAsStrongAsPGD() throws {
        let apgd = try run(.apgd) { $0.epsilon = 0.15; $0.steps = 40; $0.earlyStop = false }
        let pgd = try run(.pgd) { $0.epsilon = 0.15; $0.steps = 40; $0.earlyStop = false }
        XCTAssertLessThanOrEqual(apgd.robustAccuracy, pgd.robustAccuracy)
    }

    func testTargetedAPGDReachesItsTargets() throws {
        let given = labels.map { ($0 + 1) % 4 }
        for loss in [AttackConfig.LossName.ce, .dlr] {
            let r = try run(.apgd) { $0.target = .given(given); $0.epsilon = 0.5; $0.steps = 40; $0.loss = loss }
            try assertInBounds(r, linf: 0.5)
            XCTAssertEqual(r.samples.map(\.target), given.map { $0 })
            XCTAssertGreaterThan(r.successRate, 0.8, "\(loss)")
        }
    }

    func testAPGDTIsUntargetedOverTheTopClasses() throws {
        let r = try run(.apgdT) { $0.epsilon = 0.3; $0.steps = 20; $0.targetClasses = 3 }
        try assertInBounds(r, linf: 0.3)
        XCTAssertTrue(r.samples.allSatisfy { $0.target == nil })
        XCTAssertGreaterThan(r.successRate, 0.9)
        XCTAssertThrowsError(try run(.apgdT) { $0.targetClasses = 4 }) { XCTAssertEqual(($0 as? AttackError)?.field, "targetClasses") }
        XCTAssertThrowsError(try run(.apgdT) { $0.targeted = true }) { XCTAssertEqual(($0 as? AttackError)?.field, "targeted") }
        // Three classes besides the label: the default of 9 is too many for this model.
        XCTAssertThrowsError(try run(.apgdT) { $0.steps = 5 }) { XCTAssertEqual(($0 as? AttackError)?.field, "targetClasses") }
    }

    func testSquareScheduleHalvesAtThePapersQueries() {
        let p = { (i: Int) in SquareSearch.fraction(0.8, query: i, budget: 10_000) }
        XCTAssertEqual([p(0), p(10), p(11), p(50), p(51), p(201), p(501), p(1001), p(2001), p(4001), p(6001), p(8001)],
                       [0.8, 0.8, 0.4, 0.4, 0.2, 0.1, 0.05, 0.025, 0.0125, 0.00625, 0.003125, 0.0015625])
        // Rescaled to the budget: at 5,000 queries the first halving comes after query 5.
        XCTAssertEqual(SquareSearch.fraction(0.8, query: 6, budget: 5000), 0.4)
    }

    /// The search sees only a score function: count what it asks per image.
    func testSquareRespectsItsQueryBudgetWithoutGradients() throws {
        for norm in [Norm.linf, .l2] {
            var c = AttackConfig(method: .square)
            c.norm = norm
            c.queries = 40
            c.earlyStop = false
            c.epsilon = norm == .linf ? 0.1 : 0.5
            let config = try c.resolved()
            var batch = AttackBatch(clean: images, labels: labels, targets: nil)
            var asked = [Int](repeating: 0, count: images.batch)
            let clean = images!
            let search = SquareSearch(config: config, lower: 0, upper: 1, monitor: AttackMonitor())
            _ = try search.run(&batch) { x in
                // Which images are asked about: match each row to its clean image's ball.
                for row in 0..<x.batch {
                    let item = x.slice(row..<(row + 1))
                    let source = (0..<clean.batch).min { a, b in
                        (item - clean.slice(a..<(a + 1))).itemNorms()[0] < (item - clean.slice(b..<(b + 1))).itemNorms()[0]
                    }!
                    asked[source] += 1
                }
                return try self.model.predict(x).logSoftmaxRows()
            }
            XCTAssertEqual(asked, Array(repeating: 40, count: images.batch), "\(norm)")
            XCTAssertTrue(batch.iterations.allSatisfy { $0 == 40 })
        }
    }

    func testSquareStaysInItsBallAndIsReproducible() throws {
        let linf = try run(.square) { $0.epsilon = 0.2; $0.queries = 300 }
        try assertInBounds(linf, linf: 0.2)
        XCTAssertTrue(linf.samples.allSatisfy { $0.iterations <= 300 })
        XCTAssertGreaterThan(linf.successRate, 0.5)
        let again = try run(.square) { $0.epsilon = 0.2; $0.queries = 300 }
        XCTAssertEqual(linf.adversarial, again.adversarial)
        let other = try run(.square) { $0.epsilon = 0.2; $0.queries = 300; $0.seed = 5 }
        XCTAssertNotEqual(linf.adversarial, other.adversarial)
        let l2 = try run(.square) { $0.norm = .l2; $0.epsilon = 1; $0.queries = 300 }
        try assertInBounds(l2, l2: 1)
        XCTAssertGreaterThan(l2.successRate, 0.3)
        let targeted = try run(.square) { $0.epsilon = 0.5; $0.queries = 500; $0.target = .given(self.labels.map { ($0 + 1) % 4 }) }
        try assertInBounds(targeted, linf: 0.5)
        XCTAssertGreaterThan(targeted.successRate, 0.5)
        XCTAssertThrowsError(try run(.square) { $0.squareFraction = 0 }) { XCTAssertEqual(($0 as? AttackError)?.field, "squareFraction") }
        XCTAssertThrowsError(try run(.square) { $0.stepSize = 0.1 }) { XCTAssertEqual(($0 as? AttackError)?.field, "stepSize") }
    }

    func testCancelKeepsWhatWasReached() throws {
        for method in [AttackConfig.MethodName.apgd, .apgdT, .square, .fabT] {
            var polls = 0
            let r = try run(method, monitor: AttackMonitor(shouldStop: { polls += 1; return polls > 3 })) {
                $0.epsilon = 0.05; $0.earlyStop = false
                if method == .square { $0.queries = 10_000 } else { $0.steps = 1000 }
                if method == .apgdT || method == .fabT { $0.targetClasses = 3 }
            }
            XCTAssertTrue(r.stoppedEarly, "\(method)")
            try assertInBounds(r, linf: 0.05)
        }
    }

    /// Projections onto a hyperplane within the box, by hand: without the box binding they are
    /// the textbook ones; with it, the coordinate at its bound stops and the other goes on.
    func testBoxedHyperplaneProjection() {
        let w: [Float] = [1, 1]
        let free2 = BoxedHyperplane.project([0.5, 0.5], w: w, b: 1.2, norm: .l2, lower: 0, upper: 1)
        XCTAssertEqual(free2[0], 0.1, accuracy: 1e-6); XCTAssertEqual(free2[1], 0.1, accuracy: 1e-6)
        let boxed2 = BoxedHyperplane.project([0.9, 0.5], w: w, b: 1.8, norm: .l2, lower: 0, upper: 1)
        XCTAssertEqual(boxed2[0], 0.1, accuracy: 1e-6); XCTAssertEqual(boxed2[1], 0.3, accuracy: 1e-6)
        let boxedInf = BoxedHyperplane.project([0.9, 0.5], w: w, b: 1.8, norm: .linf, lower: 0, upper: 1)
        XCTAssertEqual(boxedInf[0], 0.1, accuracy: 1e-6); XCTAssertEqual(boxedInf[1], 0.3, accuracy: 1e-6)
        // L-inf moves every coordinate by the same amount c / Σ|w| while the box allows.
        let freeInf = BoxedHyperplane.project([0.5, 0.5, 0.5], w: [2, -1, 0], b: 0.5 - 0.3, norm: .linf, lower: 0, upper: 1)
        XCTAssertEqual(freeInf[0], -0.1, accuracy: 1e-6); XCTAssertEqual(freeInf[1], 0.1, accuracy: 1e-6); XCTAssertEqual(freeInf[2], 0)
        // Random cases: on the hyperplane, in the box, and no longer (L2) than the unboxed
        // projection's length allows nor shorter than it.
        var rng = SeededRNG(seed: 1)
        for _ in 0..<50 {
            let p = (0..<20).map { _ in rng.uniform(0, 1) }, w = (0..<20).map { _ in rng.uniform(-1, 1) }
            let b = Double(zip(w, p).reduce(0) { $0 + $1.0 * $1.1 }) + Double(rng.uniform(-0.5, 0.5))
            for norm in [Norm.l2, .linf] {
                let d = BoxedHyperplane.project(p, w: w, b: b, norm: norm, lower: 0, upper: 1)
                let moved = zip(p, d).map { $0 + $1 }
                XCTAssertTrue(moved.allSatisfy { $0 >= -1e-6 && $0 <= 1 + 1e-6 })
                XCTAssertEqual(Double(zip(w, moved).reduce(0) { $0 + $1.0 * $1.1 }), b, accuracy: 1e-4)
                let ww = w.reduce(0) { $0 + $1 * $1 }, c = Float(b) - zip(w, p).reduce(0) { $0 + $1.0 * $1.1 }
                if norm == .l2 { XCTAssertGreaterThanOrEqual(d.reduce(0) { $0 + $1 * $1 }.squareRoot(), abs(c) / ww.squareRoot() - 1e-5) }
            }
        }
    }

    func testFABTFindsSmallAdversarialsWithinEpsilon() throws {
        for norm in [Norm.linf, .l2] {
            let eps: Float = norm == .linf ? 0.3 : 2
            let r = try run(.fabT) { $0.norm = norm; $0.epsilon = eps; $0.steps = 20; $0.targetClasses = 3 }
            try assertInBounds(r, linf: norm == .linf ? eps : nil, l2: norm == .l2 ? eps : nil)
            XCTAssertTrue(r.samples.allSatisfy { $0.target == nil })
            XCTAssertGreaterThan(r.successRate, 0.5, "\(norm)")
            // Unsuccessful samples keep their clean image.
            for s in r.samples where !s.success { XCTAssertEqual(s.l2, 0) }
            // A minimum-norm attack: its successes are smaller than APGD's at the same epsilon.
            let apgd = try run(.apgd) { $0.norm = norm; $0.epsilon = eps; $0.steps = 20; $0.earlyStop = false }
            let mean = { (r: AttackResult) -> Float in
                let s = r.samples.filter(\.success)
                return s.map { norm == .linf ? $0.linf : $0.l2 }.reduce(0, +) / Float(max(s.count, 1))
            }
            XCTAssertLessThan(mean(r), mean(apgd), "\(norm)")
        }
        XCTAssertThrowsError(try run(.fabT) { $0.steps = 5 }) { XCTAssertEqual(($0 as? AttackError)?.field, "targetClasses") }
    }

    /// The ensemble counts a sample robust only if every member failed on it; its members'
    /// target classes are capped at this model's 3 other classes.
    func testAutoAttackIsNoWeakerThanItsMembers() throws {
        let eps: Float = 0.02
        let aa = try run(.autoattack) { $0.epsilon = eps }
        try assertInBounds(aa, linf: eps)
        XCTAssertEqual(aa.config.version, .standard)
        let members = try [
            run(.apgd) { $0.epsilon = eps },
            run(.apgdT) { $0.epsilon = eps; $0.targetClasses = 3 },
            run(.fabT) { $0.epsilon = eps; $0.targetClasses = 3 },
            run(.square) { $0.epsilon = eps },
        ]
        for m in members { XCTAssertLessThanOrEqual(aa.robustAccuracy, m.robustAccuracy, "\(m.config.method)") }
        XCTAssertGreaterThan(aa.robustAccuracy, 0, "epsilon small enough that some samples resist")
        let rand = try run(.autoattack) { $0.epsilon = eps; $0.version = .rand }
        try assertInBounds(rand, linf: eps)
        XCTAssertLessThanOrEqual(rand.robustAccuracy, members[0].robustAccuracy)
        XCTAssertThrowsError(try run(.autoattack) { $0.steps = 10 }) { XCTAssertEqual(($0 as? AttackError)?.field, "steps") }
    }

    /// `earlyStop` reaches every member: without it a sample APGD-CE fools runs all 100 of its
    /// steps (and no later member, since the ensemble goes on only with the robust samples);
    /// with it (the default) it stops at its first success, as APGD-CE alone does.
    func testAutoAttackPassesEarlyStopToItsMembers() throws {
        let eps: Float = 0.05
        for earlyStop in [false, true] {
            var config = AttackConfig(method: .autoattack)
            config.earlyStop = earlyStop
            let members = try AutoAttack.members(try config.resolved(), classes: 4)
            XCTAssertEqual(members.map { $0.config.earlyStop }, Array(repeating: earlyStop, count: 4))
            let aa = try run(.autoattack) { $0.epsilon = eps; $0.earlyStop = earlyStop }
            let apgd = try run(.apgd) { $0.epsilon = eps; $0.loss = .ce; $0.earlyStop = earlyStop }
            let fooledByAPGD = apgd.samples.indices.filter { apgd.samples[$0].success }
            XCTAssertFalse(fooledByAPGD.isEmpty, "epsilon large enough that APGD-CE fools some samples")
            for i in fooledByAPGD {
                XCTAssertTrue(aa.samples[i].success)
                XCTAssertEqual(aa.samples[i].iterations, apgd.samples[i].iterations, "sample \(i), earlyStop \(earlyStop)")
                if !earlyStop { XCTAssertEqual(aa.samples[i].iterations, 100, "sample \(i) runs every step") }
            }
            if earlyStop { XCTAssertTrue(fooledByAPGD.contains { aa.samples[$0].iterations < 100 }, "some stop before the last step") }
        }
    }
}
