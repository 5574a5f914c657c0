import Foundation
import RPC
import XCTest

/// A step that would make the loss, gradients, weights or logits non-finite is rolled back
/// whole and refused, naming the step: the resident model stays usable by every method and
/// saves as it was (today a learning rate of 3e38 applied the steps, and afterwards every
/// method answered -32603 and model/save wrote weights model/load refused).
final class NonFiniteTrainingTests: XCTestCase {
    func testAStepThatWouldGoNonFiniteIsRolledBackAndRefused() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nonfinite-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let d = try DaemonProcess()
        _ = d.initialize(root: dir.path)
        _ = d.call("model/create", ["name": "m", "architecture": "mnist-small", "seed": 3])
        var values: [Float] = []
        for i in 0..<(4 * 784) { values.append(Float((i * 7919) % 255) / 255) }
        let batch: JSONValue = ["inputs": JSONValue.tensor(shape: [4, 1, 28, 28], values: values), "labels": [1, 2, 3, 4]]
        let fresh = d.call("model/info", ["name": "m"])["summary"]?["fingerprint"]
        let before = d.call("predict", ["model": "m", "inputs": batch["inputs"]!, "returnLogits": true])

        // One good step at a sane rate, then the huge one; the good step stays applied.
        var good = batch.objectValue!
        good["model"] = "m"
        good["optimizer"] = ["kind": "sgd", "learningRate": 0.01, "momentum": 0.9]
        XCTAssertEqual(d.call("trainStep", .object(good))["stepCount"], 1)
        let afterGood = d.call("model/info", ["name": "m"])["summary"]?["fingerprint"]
        XCTAssertNotEqual(afterGood, fresh)
        for (kind, rate) in [("sgd", 3e38), ("adam", 3e38), ("sgd", 1e30)] {
            var huge = batch.objectValue!
            huge["model"] = "m"
            huge["steps"] = 3
            huge["optimizer"] = ["kind": .string(kind), "learningRate": .number(rate)]
            let f = d.failure("trainStep", .object(huge))
            XCTAssertEqual(f.code, ErrorCode.invalidParams, "\(kind) \(rate)")
            XCTAssertTrue(f.message.contains("non-finite") && f.message.contains("rolled back") && f.message.contains("step 1 of this call"),
                          f.message)
            XCTAssertEqual(d.call("model/info", ["name": "m"])["summary"]?["fingerprint"], afterGood, "nothing of the step stayed")
        }
        // Every method still answers with finite numbers, and the model saves and loads.
        let after = d.call("predict", ["model": "m", "inputs": batch["inputs"]!, "returnLogits": true])
        XCTAssertNotNil(after["predictions"], "\(after)")
        XCTAssertNotEqual(after["predictions"], before["predictions"], "the good step changed the model")
        XCTAssertNotNil(d.call("attack", ["model": "m", "method": "fgsm", "inputs": batch["inputs"]!, "labels": [1, 2, 3, 4]])["summary"])
        XCTAssertNotNil(d.call("evaluate", ["model": "m", "inputs": batch["inputs"]!, "labels": [1, 2, 3, 4]])["cleanAccuracy"])
        _ = d.call("model/save", ["name": "m", "spec": .string(dir.appendingPathComponent("m.json").path),
                                  "weights": .string(dir.appendingPathComponent("m.safetensors").path)])
        let loaded = d.call("model/load", ["name": "m2", "spec": .string(dir.appendingPathComponent("m.json").path),
                                           "weights": .string(dir.appendingPathComponent("m.safetensors").path)])
        XCTAssertEqual(loaded["fingerprint"], afterGood)
        // Training goes on from the good state at a sane rate.
        XCTAssertEqual(d.call("trainStep", .object(good))["stepCount"], 2)
    }
}
