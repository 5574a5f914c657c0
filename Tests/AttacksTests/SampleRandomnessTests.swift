import Foundation
import NN
import Settings
import TensorEngine
import TestSupport
import XCTest
@testable import Attacks

/// Issue 19, item 4: an image's adversarial depends on the seed and its key, not on which
/// other images share its request. Every randomized attack runs on 40 images (keys 0..<40)
/// and on their second half alone (keys 20..<40); the second half must match bit for bit.
final class SampleRandomnessTests: XCTestCase {
    var model: Model!
    var images: Tensor!
    var labels: [Int]!

    override func setUpWithError() throws {
        model = try tinyClassifier(seed: 11)
        images = TestTensors.uniform([40, 1, 8, 8], 0, 1, seed: 12)
        labels = try model.predict(images).argmaxRows()
    }

    /// Every attack whose draws are random, with the settings that make them draw.
    var randomized: [(String, AttackConfig)] {
        func config(_ method: AttackConfig.MethodName, _ set: (inout AttackConfig) -> Void = { _ in }) -> AttackConfig {
            var c = AttackConfig(method: method)
            c.seed = 7
            set(&c)
            return c
        }
        return [
            ("pgd linf, 2 restarts", config(.pgd) { $0.epsilon = 0.05; $0.steps = 5; $0.restarts = 2 }),
            ("pgd l2", config(.pgd) { $0.norm = .l2; $0.epsilon = 0.3; $0.steps = 5 }),
            ("pgd targeted at random classes", config(.pgd) { $0.epsilon = 0.1; $0.steps = 5; $0.targeted = true }),
            ("ffgsm", config("ffgsm") { $0.epsilon = 0.05 }),
            ("apgd, 2 restarts", config(.apgd) { $0.epsilon = 0.05; $0.steps = 6; $0.restarts = 2 }),
            ("apgd l2", config(.apgd) { $0.norm = .l2; $0.epsilon = 0.3; $0.steps = 6 }),
            ("apgd-t", config(.apgdT) { $0.epsilon = 0.05; $0.steps = 6; $0.targetClasses = 3 }),
            ("fab-t, 2 restarts", config(.fabT) { $0.epsilon = 0.05; $0.steps = 4; $0.restarts = 2; $0.targetClasses = 2 }),
            ("square linf", config(.square) { $0.epsilon = 0.05; $0.queries = 30 }),
            ("square l2", config(.square) { $0.norm = .l2; $0.epsilon = 0.3; $0.queries = 30 }),
            ("autoattack rand", config(.autoattack) { $0.epsilon = 0.05; $0.version = .rand }),
        ]
    }

    func testASampleDrawsTheSameInAnyRequest() throws {
        let ensemble = Ensemble(model)
        let half = 20..<40
        let tail = images.slice(half), tailLabels = Array(labels[half])
        for (name, c) in randomized {
            let whole = try Attack.run(c, on: ensemble, images: images, labels: labels)
            let alone = try Attack.run(c, on: ensemble, images: tail, labels: tailLabels, keys: half.map { UInt64($0) })
            XCTAssertTrue(alone.adversarial.data == whole.adversarial.slice(half).data, name)
            XCTAssertEqual(alone.samples.map(\.target), Array(whole.samples[half]).map(\.target), name)
            XCTAssertEqual(alone.samples.map(\.iterations), Array(whole.samples[half]).map(\.iterations), name)
            // Keyed by position instead, the same images draw other numbers: the keys matter.
            // (FAB-T draws only for the restarts of samples it has not fooled; its kept
            // adversarial is the smallest one found, the same from any start on this model.)
            if c.method != .fabT {
                let byPosition = try Attack.run(c, on: ensemble, images: tail, labels: tailLabels)
                XCTAssertFalse(byPosition.adversarial.data == alone.adversarial.data, name)
            }
        }
    }

    /// AutoAttack's standard list runs APGD, APGD-T, FAB-T and Square in turn on what is left:
    /// slower, so on fewer images.
    func testAutoAttackStandardDrawsTheSameInAnyRequest() throws {
        var c = AttackConfig(method: .autoattack)
        (c.epsilon, c.seed) = (0.03, 3)
        let ensemble = Ensemble(model)
        let x = images.slice(0..<12), y = Array(labels[0..<12])
        let whole = try Attack.run(c, on: ensemble, images: x, labels: y)
        let alone = try Attack.run(c, on: ensemble, images: x.slice(6..<12), labels: Array(y[6..<12]), keys: (6..<12).map { UInt64($0) })
        XCTAssertTrue(alone.adversarial.data == whole.adversarial.slice(6..<12).data)
    }

    /// Several random targets per image (the ensemble-optimization attack): the targets an
    /// image draws do not depend on its neighbours; each (image, slot) has its own key, the
    /// first slot the image's.
    func testTargetSlotsHaveTheirOwnStreams() throws {
        var c = AttackConfig(method: "ensemble-opt")
        (c.steps, c.targetsPerImage, c.seed) = (3, 2, 5)
        let ensemble = Ensemble(model)
        let whole = try Attack.run(c, on: ensemble, images: images.slice(0..<10), labels: Array(labels[0..<10]))
        let alone = try Attack.run(c, on: ensemble, images: images.slice(5..<10), labels: Array(labels[5..<10]), keys: (5..<10).map { UInt64($0) })
        XCTAssertTrue(alone.adversarial.data == whole.adversarial.slice(10..<20).data)
        XCTAssertEqual(alone.samples.map(\.target), whole.samples[10..<20].map(\.target))
        XCTAssertEqual(SampleRandomness.slotKey(9, slot: 0), 9)
        XCTAssertNotEqual(SampleRandomness.slotKey(9, slot: 1), SampleRandomness.slotKey(10, slot: 1))
    }

    /// The evaluation's chunks: one WorstCase run over 40 images equals two over 20 each.
    func testWorstCaseChunksDrawAsOneRun() throws {
        var pgd = AttackConfig(method: .pgd), square = AttackConfig(method: .square)
        (pgd.epsilon, pgd.steps, pgd.seed) = (0.05, 4, 9)
        (square.epsilon, square.queries, square.seed) = (0.05, 20, 9)
        let point = try WorstCase.point([pgd, square], epsilon: nil, independent: false, lower: 0, upper: 1, itemCount: 64, field: { _ in "" })
        let ensemble = Ensemble(model)
        let whole = try point.run(on: ensemble, images: images, labels: labels, cleanPredictions: labels).outcome
        let second = try point.run(on: ensemble, images: images.slice(20..<40), labels: Array(labels[20..<40]),
                                   cleanPredictions: Array(labels[20..<40]), offset: 20).outcome
        XCTAssertTrue(second.adversarial.data == whole.adversarial.slice(20..<40).data)
        XCTAssertEqual(second.brokenBy, Array(whole.brokenBy[20..<40]))
    }
}
