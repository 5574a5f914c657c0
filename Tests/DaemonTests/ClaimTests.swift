import Foundation
import RPC
import XCTest

/// The mechanism of the paper's claim (docs/findings.md, "The claim") on a small configuration,
/// through the real binary: from the same standard-trained weights (the committed mnist-small),
/// 30 seeded steps of each objective, then on 100 held-out test images the mean squared distance
/// ‖φ(x) − φ(x*)‖² at the penultimate layer, x* each model's own FGSM image (eps 0.3). Consistent-loss
/// steps with a large lambda leave that distance far below the standard steps' — and below
/// lambda 0 (CE(x) + CE(x*) alone), so it is the feature term, not the adversarial cross-entropy,
/// that pulls φ(x*) to φ(x). (Release figures: standard 490, lambda 0: 142, lambda 0.1: 1.1.)
final class ClaimTests: XCTestCase {
    func testConsistentLossPullsHeldOutAdversarialFeaturesToTheirSource() throws {
        let d = try DaemonProcess()
        _ = d.initialize()
        let fixture = "Tests/AttacksTests/Fixtures/mnist-small"
        _ = d.call("dataset/load", ["name": "mnist", "kind": "mnist-csv", "path": "data/mnist_5k.csv.gz", "split": ["testPerClass": 20]])
        let heldOut: JSONValue = .array(stride(from: 0, to: 200, by: 2).map { .number(Double($0)) })

        /// Mean over the held-out images of ‖φ(x) − φ(x*)‖² at layer "8" (ReLU of the 128-unit dense layer).
        func featureDistance(_ model: String) -> Double {
            let attack = d.call("attack", ["model": .string(model), "method": "fgsm", "epsilon": 0.3,
                                           "inputs": ["dataset": "mnist-test", "indices": heldOut]])
            func features(_ source: JSONValue) -> [[Double]] {
                let r = d.call("probe", ["model": .string(model), "layer": "8", "kind": "activations", "inputs": source])
                return (r["activations"]?["values"]?.arrayValue ?? []).map { ($0.arrayValue ?? []).compactMap(\.doubleValue) }
            }
            let real = features(["dataset": "mnist-test", "indices": heldOut])
            let adversarial = features(["handle": attack["handle"]!])
            XCTAssertEqual(real.count, 100)
            XCTAssertEqual(adversarial.count, 100)
            XCTAssertEqual(real.first?.count, 128)
            let sums = zip(real, adversarial).map { a, b in zip(a, b).reduce(0.0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } }
            return sums.reduce(0, +) / Double(max(sums.count, 1))
        }

        var distance: [String: Double] = [:]
        for (name, objective) in [("standard", ["kind": "standard"]), ("lambda0", ["kind": "consistent", "lambda": 0]),
                                  ("consistent", ["kind": "consistent", "lambda": 0.1])] as [(String, JSONValue)] {
            _ = d.call("model/load", ["name": .string(name), "spec": .string(fixture + "/model.json"), "weights": .string(fixture + "/model.safetensors")])
            let r = d.call("trainStep", ["model": .string(name), "dataset": "mnist-train", "batchSize": 32, "seed": 0, "steps": 30,
                                         "objective": objective, "optimizer": ["kind": "adam", "learningRate": 0.001]])
            XCTAssertEqual(r["steps"], 30)
            distance[name] = featureDistance(name)
        }
        let (standard, lambda0, consistent) = (distance["standard"]!, distance["lambda0"]!, distance["consistent"]!)
        XCTAssertGreaterThan(standard, 50, "a standard model's features move under FGSM eps 0.3")
        XCTAssertLessThan(consistent, standard / 10, "consistent \(consistent) vs standard \(standard)")
        XCTAssertLessThan(consistent, lambda0 / 4, "consistent \(consistent) vs lambda 0 \(lambda0)")
    }
}
