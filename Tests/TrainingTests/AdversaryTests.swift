import NN
import TensorEngine
import TestSupport
import XCTest
@testable import Training

/// The training adversaries stay in the epsilon ball and the input range and do what each
/// is defined to do.
final class AdversaryTests: XCTestCase {
    let x = TestTensors.uniform([8, 1, 28, 28], 0, 1, seed: 51)
    let labels = [0, 1, 2, 3, 4, 5, 6, 7]

    func model() throws -> Model { try Architectures.create("mnist-small", seed: 3) }

    func assertInBall(_ a: Tensor, eps: Float, file: StaticString = #filePath, line: UInt = #line) {
        for i in 0..<a.count {
            XCTAssertLessThanOrEqual(abs(a.data[i] - x.data[i]), eps + 1e-6, file: file, line: line)
            XCTAssertTrue((0...1).contains(a.data[i]), file: file, line: line)
        }
    }

    func meanCE(_ m: Model, _ a: Tensor) throws -> Float { Loss.crossEntropy(logits: try m.predict(a), labels: labels).value }

    func testFGSMAndPGDRaiseTheCrossEntropyInsideTheBall() throws {
        let m = try model()
        let clean = try meanCE(m, x)
        let fgsm = try XCTUnwrap(try Adversary(method: .fgsm, epsilon: 0.1).examples(m, images: x, labels: labels, seed: 1))
        assertInBall(fgsm, eps: 0.1)
        XCTAssertEqual(fgsm.maxAbs() > 0, true)
        let pgd = try XCTUnwrap(try Adversary(method: .pgd, epsilon: 0.1, stepSize: 0.02, steps: 7).examples(m, images: x, labels: labels, seed: 1))
        assertInBall(pgd, eps: 0.1)
        XCTAssertGreaterThan(try meanCE(m, fgsm), clean)
        XCTAssertGreaterThan(try meanCE(m, pgd), try meanCE(m, fgsm))
        // The same seed gives the same random start; another seed another one.
        let again = try Adversary(method: .pgd, epsilon: 0.1, stepSize: 0.02, steps: 7).examples(m, images: x, labels: labels, seed: 1)
        let other = try Adversary(method: .pgd, epsilon: 0.1, stepSize: 0.02, steps: 7).examples(m, images: x, labels: labels, seed: 2)
        XCTAssertEqual(again, pgd)
        XCTAssertNotEqual(other, pgd)
    }

    func testLeastLikelyClassLowersThatClassCrossEntropy() throws {
        let m = try model()
        let p = try m.predict(x).softmaxRows()
        let k = 10
        let targets = labels.enumerated().map { i, y in (0..<k).filter { $0 != y }.min { p.data[i * k + $0] < p.data[i * k + $1] }! }
        let a = try XCTUnwrap(try Adversary(method: .llc, epsilon: 0.2, stepSize: 0.02, steps: 10).examples(m, images: x, labels: labels, seed: 0))
        assertInBall(a, eps: 0.2)
        let before = Loss.crossEntropy(logits: try m.predict(x), labels: targets).value
        let after = Loss.crossEntropy(logits: try m.predict(a), labels: targets).value
        XCTAssertLessThan(after, before)
    }

    func testKLAdversaryRaisesTheKLFromTheCleanOutput() throws {
        let m = try model()
        let a = try XCTUnwrap(try Adversary(method: .kl, epsilon: 0.1, stepSize: 0.02, steps: 5).examples(m, images: x, labels: labels, seed: 0))
        assertInBall(a, eps: 0.1)
        let clean = try m.predict(x)
        var start = x
        start.clamp(0, 1)
        let (kl, _) = Loss.klDivergence(target: clean, input: try m.predict(a))
        XCTAssertGreaterThan(kl.value, 1e-4)
    }

    func testAStopBeforeTheEndGivesNoExamples() throws {
        let m = try model()
        var polls = 0
        let a = try Adversary(method: .pgd, steps: 10).examples(m, images: x, labels: labels, seed: 0, shouldStop: { polls += 1; return polls > 3 })
        XCTAssertNil(a)
        XCTAssertNil(try Adversary(method: .kl, steps: 10).examples(m, images: x, labels: labels, seed: 0, shouldStop: { true }))
    }

    func testParametersAMethodDoesNotUseAreRefused() {
        XCTAssertThrowsError(try Adversary(method: .fgsm, steps: 3)) { XCTAssertEqual(($0 as! TrainingError).field, "adversary.steps") }
        XCTAssertThrowsError(try Adversary(method: .llc, randomStart: true)) { XCTAssertEqual(($0 as! TrainingError).field, "adversary.randomStart") }
        XCTAssertThrowsError(try Adversary(method: .pgd, epsilon: -1)) { XCTAssertEqual(($0 as! TrainingError).field, "adversary.epsilon") }
    }
}
