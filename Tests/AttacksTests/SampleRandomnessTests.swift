import Foundation
import NN
import Settings
import TensorEngine
import TestSupport
import XCTest
@testable import Attacks

/// Issue 19, item 4: an image's adversarial depends on the seed and its key, not on which
/// other images share its request nor on how the batch is chunked. Every attack method runs on
/// 40 images (keys 0..<40) and on their second half alone (keys 20..<40), at the model's own
/// chunk size and at chunks of 5 and 16 rows; the second half must match bit for bit. This
/// holds for the methods that read gradient magnitudes (L2 steps, APGD's step-size halvings,
/// FAB's projections, C&W, DeepFool) as well as for the sign-step ones because the engine's
/// products round a sample's rows the same way in any batch (AdvLens' own GEMM, `PackedMatrix`). On the small classifier and on a randomly initialised mnist-small.
final class SampleRandomnessTests: XCTestCase {
    var model: Model!
    var images: Tensor!
    var labels: [Int]!

    override func setUpWithError() throws {
        model = try tinyClassifier(seed: 11)
        images = TestTensors.uniform([40, 1, 8, 8], 0, 1, seed: 12)
        labels = try model.predict(images).argmaxRows()
    }

    /// Every method, with the settings that make the random ones draw; `random`: whether its
    /// result depends on the keys.
    var everyMethod: [(name: String, config: AttackConfig, random: Bool)] {
        func config(_ method: AttackConfig.MethodName, _ set: (inout AttackConfig) -> Void = { _ in }) -> AttackConfig {
            var c = AttackConfig(method: method)
            c.seed = 7
            set(&c)
            return c
        }
        return [
            ("fgsm", config("fgsm") { $0.epsilon = 0.05 }, false),
            ("bim", config("bim") { $0.epsilon = 0.05; $0.steps = 4 }, false),
            ("mifgsm", config("mifgsm") { $0.epsilon = 0.05; $0.steps = 4 }, false),
            ("pgd linf, 2 restarts", config(.pgd) { $0.epsilon = 0.05; $0.steps = 5; $0.restarts = 2 }, true),
            ("pgd l2", config(.pgd) { $0.norm = .l2; $0.epsilon = 0.3; $0.steps = 5 }, true),
            ("pgd targeted at random classes", config(.pgd) { $0.epsilon = 0.1; $0.steps = 5; $0.targeted = true }, true),
            ("ffgsm", config("ffgsm") { $0.epsilon = 0.05 }, true),
            ("apgd, 2 restarts", config(.apgd) { $0.epsilon = 0.05; $0.steps = 6; $0.restarts = 2 }, true),
            ("apgd l2", config(.apgd) { $0.norm = .l2; $0.epsilon = 0.3; $0.steps = 6 }, true),
            ("apgd-t", config(.apgdT) { $0.epsilon = 0.05; $0.steps = 6; $0.targetClasses = 3 }, true),
            ("fab-t, 2 restarts", config(.fabT) { $0.epsilon = 0.05; $0.steps = 4; $0.restarts = 2; $0.targetClasses = 2 }, true),
            ("square linf", config(.square) { $0.epsilon = 0.05; $0.queries = 30 }, true),
            ("square l2", config(.square) { $0.norm = .l2; $0.epsilon = 0.3; $0.queries = 30 }, true),
            ("cw", config("cw") { $0.steps = 5; $0.binarySearchSteps = 2 }, false),
            ("deepfool", config("deepfool") { $0.steps = 4 }, false),
            ("autoattack rand", config(.autoattack) { $0.epsilon = 0.05; $0.version = .rand }, true),
        ]
    }

    /// The second half alone equals the second half of the whole, at every chunk size, and the
    /// whole does not depend on the chunk size either.
    func checkEveryMethod(_ model: Model, _ images: Tensor, _ labels: [Int], file: StaticString = #filePath, line: UInt = #line) throws {
        let half = images.batch / 2..<images.batch
        let tail = images.slice(half), tailLabels = Array(labels[half]), keys = half.map { UInt64($0) }
        for (name, c, random) in everyMethod {
            let whole = try Attack.run(c, on: Ensemble(model), images: images, labels: labels)
            for chunk in [nil, 5, 16] {
                var ensemble = Ensemble(model)
                ensemble.fixedChunk = chunk
                let label = "\(name), chunks of \(chunk ?? ensemble.chunks.size)"
                let alone = try Attack.run(c, on: ensemble, images: tail, labels: tailLabels, keys: keys)
                XCTAssertTrue(alone.adversarial.data == whole.adversarial.slice(half).data, label, file: file, line: line)
                XCTAssertEqual(alone.samples.map(\.target), Array(whole.samples[half]).map(\.target), label, file: file, line: line)
                XCTAssertEqual(alone.samples.map(\.iterations), Array(whole.samples[half]).map(\.iterations), label, file: file, line: line)
                XCTAssertEqual(alone.samples.map(\.confidence), Array(whole.samples[half]).map(\.confidence), label, file: file, line: line)
                if chunk != nil {
                    let rechunked = try Attack.run(c, on: ensemble, images: images, labels: labels)
                    XCTAssertTrue(rechunked.adversarial.data == whole.adversarial.data, label, file: file, line: line)
                }
            }
            // Keyed by position instead, the same images draw other numbers: the keys matter.
            // (FAB-T draws only for the restarts of samples it has not fooled; its kept
            // adversarial is the smallest one found, the same from any start on this model.)
            if random && c.method != .fabT {
                let byPosition = try Attack.run(c, on: Ensemble(model), images: tail, labels: tailLabels)
                XCTAssertFalse(byPosition.adversarial.data == whole.adversarial.slice(half).data, name, file: file, line: line)
            }
        }
    }

    func testASampleGetsTheSameResultInAnyRequestAndChunk() throws {
        try checkEveryMethod(model, images, labels)
    }

    /// The same on mnist-small's layers (randomly initialised: the shapes are what matter),
    /// whose products take other OpenBLAS paths than the small classifier's.
    func testASampleGetsTheSameResultOnMNISTSmallsLayers() throws {
        let small = try Model(spec: Architectures.spec("mnist-small")!)
        small.initialize(seed: 4)
        let x = TestTensors.uniform([24, 1, 28, 28], 0, 1, seed: 13)
        try checkEveryMethod(small, x, try small.predict(x).argmaxRows())
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
