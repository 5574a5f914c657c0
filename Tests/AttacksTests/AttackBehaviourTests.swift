import Foundation
import NN
import TensorEngine
import TestSupport
import Settings
import XCTest
@testable import Attacks

/// What every attack promises whatever the model: images stay in range and in the epsilon
/// ball, results are consistent with a fresh prediction, seeds reproduce, targets are hit,
/// early stopping and cancellation behave.
final class AttackBehaviourTests: XCTestCase {
    var model: Model!
    var images: Tensor!
    var labels: [Int]!

    override func setUpWithError() throws {
        model = try tinyClassifier(seed: 3)
        images = TestTensors.uniform([12, 1, 8, 8], 0, 1, seed: 4)
        labels = try model.predict(images).argmaxRows()   // clean predictions as labels: everything starts correct
    }

    func run(_ configure: (inout AttackConfig) -> Void, method: AttackConfig.MethodName) throws -> AttackResult {
        var c = AttackConfig(method: method)
        configure(&c)
        return try Attack.run(c, on: Ensemble(model), images: images, labels: labels)
    }

    func assertConsistent(_ r: AttackResult, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertGreaterThanOrEqual(r.adversarial.data.min()!, 0, file: file, line: line)
        XCTAssertLessThanOrEqual(r.adversarial.data.max()!, 1, file: file, line: line)
        let again = try model.predict(r.adversarial).argmaxRows()
        XCTAssertEqual(r.samples.map(\.adversarialLabel), again, "reported labels are the model's", file: file, line: line)
        for s in r.samples {
            XCTAssertEqual(s.success, s.target.map { s.adversarialLabel == $0 } ?? (s.adversarialLabel != s.label), file: file, line: line)
        }
    }

    func testLinfAttacksStayInTheirBall() throws {
        for method in [AttackConfig.MethodName.fgsm, .bim, .pgd, .mifgsm] {
            let r = try run({ $0.epsilon = 0.1 }, method: method)
            try assertConsistent(r)
            XCTAssertLessThanOrEqual(r.samples.map(\.linf).max()!, 0.1 + 1e-5, "\(method)")
            XCTAssertEqual(r.config.epsilon, 0.1)
        }
    }

    func testPGDL2StaysInItsBall() throws {
        let r = try run({ $0.norm = .l2; $0.epsilon = 0.5 }, method: .pgd)
        try assertConsistent(r)
        XCTAssertLessThanOrEqual(r.samples.map(\.l2).max()!, 0.5 + 1e-4)
        XCTAssertEqual(r.config.stepSize, 0.2)
    }

    func testStrongAttacksSucceedAndAreReproducible() throws {
        let pgd = try run({ $0.epsilon = 0.5; $0.steps = 20; $0.stepSize = 0.05; $0.seed = 9 }, method: .pgd)
        try assertConsistent(pgd)
        XCTAssertGreaterThan(pgd.successRate, 0.9)
        let again = try run({ $0.epsilon = 0.5; $0.steps = 20; $0.stepSize = 0.05; $0.seed = 9 }, method: .pgd)
        XCTAssertEqual(again.adversarial, pgd.adversarial, "same seed, same images")
        XCTAssertLessThan(pgd.samples.map(\.iterations).max()!, 20, "early stopping ended samples early")

        let df = try run({ _ in }, method: .deepfool)
        try assertConsistent(df)
        XCTAssertGreaterThan(df.successRate, 0.9)
        let cw = try run({ $0.steps = 200; $0.learningRate = 0.05; $0.c = 10 }, method: .cw)
        try assertConsistent(cw)
        XCTAssertGreaterThan(cw.successRate, 0.9)
        // Minimal-perturbation attacks find smaller L2 than a budgeted PGD-L2.
        let pgdL2 = try run({ $0.norm = .l2; $0.epsilon = 3; $0.steps = 40; $0.stepSize = 0.3 }, method: .pgd)
        let meanL2 = { (r: AttackResult) in r.samples.filter(\.success).map(\.l2).reduce(0, +) / Float(max(r.samples.filter(\.success).count, 1)) }
        XCTAssertLessThan(meanL2(df), meanL2(pgdL2))
    }

    func testTargetedAttacksHitTheirTargets() throws {
        let given = labels.map { ($0 + 1) % 4 }
        let r = try run({ $0.target = .given(given); $0.epsilon = 0.5; $0.steps = 30; $0.stepSize = 0.05 }, method: .pgd)
        try assertConsistent(r)
        XCTAssertEqual(r.samples.map(\.target), given.map { $0 })
        XCTAssertGreaterThan(r.successRate, 0.8)

        let eo = try run({ $0.targetsPerImage = 3; $0.target = .random; $0.steps = 200; $0.learningRate = 0.05 }, method: .ensembleOpt)
        try assertConsistent(eo)
        XCTAssertEqual(eo.samples.count, 36, "3 targets for each of 12 images")
        for img in 0..<12 {
            let targets = eo.samples.filter { $0.source == img }.compactMap(\.target)
            XCTAssertEqual(Set(targets).count, 3)
            XCTAssertFalse(targets.contains(labels[img]))
        }
        XCTAssertGreaterThan(eo.successRate, 0.8)

        let ll = try run({ $0.target = .leastLikely; $0.steps = 5 }, method: .ensembleOpt)
        let p = try model.predict(images).softmaxRows()
        for (i, s) in ll.samples.enumerated() {
            let row = (0..<4).filter { $0 != labels[i] }
            XCTAssertEqual(s.target, row.min { p.data[i * 4 + $0] < p.data[i * 4 + $1] })
        }
    }

    /// Fast FGSM: one step of stepSize (default 1.25·epsilon) from a random point of the ball,
    /// projected back: inside the ball, one iteration, and (the random start) not FGSM's image.
    func testFastFGSMStepsFromARandomStartInsideTheBall() throws {
        let r = try run({ $0.epsilon = 0.1 }, method: "ffgsm")
        try assertConsistent(r)
        XCTAssertLessThanOrEqual(r.samples.map(\.linf).max()!, 0.1 + 1e-5)
        XCTAssertEqual(r.config.stepSize!, 0.125, accuracy: 1e-7)
        XCTAssertEqual(r.config.steps, 1)
        XCTAssertEqual(r.config.randomStart, true)
        let fgsm = try run({ $0.epsilon = 0.1 }, method: .fgsm)
        XCTAssertNotEqual(r.adversarial.data, fgsm.adversarial.data)
        XCTAssertThrowsError(try run({ $0.steps = 3 }, method: "ffgsm")) { XCTAssertEqual(($0 as? AttackError)?.field, "steps") }
    }

    func testCancellationReturnsTheBestSoFar() throws {
        var calls = 0
        var c = AttackConfig(method: .pgd)
        c.steps = 1000
        c.earlyStop = false
        let r = try Attack.run(c, on: Ensemble(model), images: images, labels: labels,
                               monitor: AttackMonitor(shouldStop: { calls += 1; return calls > 3 }))
        XCTAssertTrue(r.stoppedEarly)
        XCTAssertEqual(r.samples.count, 12)
        XCTAssertLessThanOrEqual(r.samples.map(\.iterations).max()!, 3)
    }

    func testBadParametersNameTheField() throws {
        XCTAssertThrowsError(try run({ $0.epsilon = -1 }, method: .pgd)) { XCTAssertEqual(($0 as? AttackError)?.field, "epsilon") }
        XCTAssertThrowsError(try run({ $0.norm = .l2 }, method: .fgsm)) { XCTAssertEqual(($0 as? AttackError)?.field, "norm") }
        XCTAssertThrowsError(try run({ $0.targeted = true }, method: .deepfool)) { XCTAssertEqual(($0 as? AttackError)?.field, "targeted") }
        XCTAssertThrowsError(try run({ $0.target = .given([9]) }, method: .pgd)) { XCTAssertEqual(($0 as? AttackError)?.field, "target") }
        XCTAssertThrowsError(try run({ $0.targetsPerImage = 4 }, method: .ensembleOpt)) { XCTAssertEqual(($0 as? AttackError)?.field, "targetsPerImage") }
        XCTAssertThrowsError(try run({ $0.steps = 0 }, method: .bim)) { XCTAssertEqual(($0 as? AttackError)?.field, "steps") }
    }
}
