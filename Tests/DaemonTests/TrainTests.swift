import Foundation
import RPC
import XCTest

/// trainStep and evaluate through the real binary: steps change the weights and the
/// fingerprint, the training state resumes exactly through model/save and model/load, a
/// cancel applies whole steps only, and bad parameters name their field.
final class TrainTests: XCTestCase {
    var root: URL!

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("advlens-train-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("data"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: DaemonProcess.repositoryRoot.appendingPathComponent("data/mnist_5k.csv.gz"),
                                         to: root.appendingPathComponent("data/mnist_5k.csv.gz"))
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: root) }

    func daemon() throws -> DaemonProcess {
        let d = try DaemonProcess()
        _ = d.initialize(root: root.path)
        _ = d.call("dataset/load", ["name": "mnist", "kind": "mnist-csv", "path": "data/mnist_5k.csv.gz", "split": ["testPerClass": 20]])
        return d
    }

    /// The objective and optimiser of the resume test: momentum and PGD's random start make
    /// any lost state or seed show.
    let steps: JSONValue = ["model": "m", "dataset": "mnist-train", "batchSize": 32, "seed": 5, "steps": 3,
                            "optimizer": ["kind": "sgd", "learningRate": 0.05, "momentum": 0.9, "nesterov": true],
                            "schedule": ["kind": "cosine", "totalSteps": 6, "warmupSteps": 1],
                            "objective": ["kind": "consistent", "lambda": 0.1, "adversary": ["method": "pgd", "epsilon": 0.2, "steps": 2, "stepSize": 0.1]]]

    func testStepsChangeTheFingerprintAndReportEachPart() throws {
        let d = try daemon()
        let created = d.call("model/create", ["name": "m", "architecture": "mnist-small", "seed": 1])
        let r = d.call("trainStep", steps)
        XCTAssertEqual(r["steps"], 3)
        XCTAssertEqual(r["stepCount"], 3)
        XCTAssertNotEqual(r["fingerprint"], created["fingerprint"])
        XCTAssertEqual(d.call("model/info", ["name": "m"])["summary"]?["fingerprint"], r["fingerprint"])
        XCTAssertEqual(Set(r["parts"]?.objectValue?.keys ?? []), ["cleanCrossEntropy", "adversarialCrossEntropy", "featureDistance"])
        XCTAssertEqual(r["history"]?.arrayValue?.count, 3)
        XCTAssertEqual(r["objective"]?["layers"], ["8"], "the default layer is the penultimate one")
        XCTAssertNotNil(r["cleanAccuracy"]?.doubleValue)
        XCTAssertNotNil(r["adversarialAccuracy"]?.doubleValue)
        // The warmup's first rate, then the cosine from its peak.
        XCTAssertEqual(r["history"]?[0]?["learningRate"]?.doubleValue ?? 0, 0.05, accuracy: 1e-7)
        XCTAssertEqual(r["optimizerReset"], false)
        let more = d.call("trainStep", ["model": "m", "inputs": ["dataset": "mnist-test", "indices": [0, 1, 2, 3]], "objective": ["kind": "trades"]])
        XCTAssertEqual(more["stepCount"], 4, "the step count is per model, across calls")
        XCTAssertEqual(Set(more["parts"]?.objectValue?.keys ?? []), ["cleanCrossEntropy", "kl"])
        XCTAssertEqual(d.call("model/list")["models"]?[0]?["trainingSteps"], 4)
        // A different optimiser drops the state.
        let adam = d.call("trainStep", ["model": "m", "dataset": "mnist-train", "optimizer": ["kind": "adam"]])
        XCTAssertEqual(adam["optimizerReset"], true)
        XCTAssertEqual(adam["optimizer"]?["learningRate"]?.doubleValue ?? 0, 0.001, accuracy: 1e-9)
    }

    /// 2N steps equal N steps + model/save + model/load (into another daemon) + N steps: the
    /// same fingerprint and the same weight bytes.
    func testTrainingResumesExactlyThroughSaveAndLoad() throws {
        let a = try daemon()
        _ = a.call("model/create", ["name": "m", "architecture": "mnist-small", "seed": 2])
        _ = a.call("trainStep", steps)
        let saved = a.call("model/save", ["name": "m", "spec": "m.json", "weights": "m.safetensors"])
        XCTAssertEqual(saved["trainingState"]?.stringValue, root.appendingPathComponent("m.optimizer.safetensors").path)
        let straight = a.call("trainStep", steps)
        XCTAssertEqual(straight["stepCount"], 6)
        _ = a.call("model/save", ["name": "m", "spec": "straight.json", "weights": "straight.safetensors"])

        let b = try daemon()
        let loaded = b.call("model/load", ["name": "m", "spec": "m.json", "weights": "m.safetensors"])
        XCTAssertEqual(loaded["trainingSteps"], 3)
        let resumed = b.call("trainStep", steps)
        XCTAssertEqual(resumed["stepCount"], 6)
        XCTAssertEqual(resumed["fingerprint"], straight["fingerprint"])
        XCTAssertEqual(resumed["history"], straight["history"])
        _ = b.call("model/save", ["name": "m", "spec": "resumed.json", "weights": "resumed.safetensors"])
        XCTAssertEqual(try Data(contentsOf: root.appendingPathComponent("resumed.safetensors")),
                       try Data(contentsOf: root.appendingPathComponent("straight.safetensors")))

        // The same weights without their training state continue differently.
        try FileManager.default.removeItem(at: root.appendingPathComponent("m.optimizer.safetensors"))
        let cold = b.call("model/load", ["name": "c", "spec": "m.json", "weights": "m.safetensors"])
        XCTAssertNil(cold["trainingSteps"])
        var params = steps.objectValue!
        params["model"] = "c"
        XCTAssertNotEqual(b.call("trainStep", .object(params))["fingerprint"], straight["fingerprint"])
    }

    /// A cancel ends the loop between steps or inside a step's adversary: the reply's partial
    /// result counts the whole steps applied, and the model holds exactly those.
    func testCancelAppliesWholeStepsOnly() throws {
        let d = try daemon()
        _ = d.call("model/create", ["name": "m", "architecture": "mnist-small", "seed": 3])
        let id = d.request("trainStep", ["model": "m", "dataset": "mnist-train", "steps": 100_000, "workDoneToken": "t",
                                         "objective": ["kind": "pgd", "adversary": ["steps": 10]]])
        var reported = false
        while !reported, let m = d.readMessage(timeout: 600) {   // a hang guard only
            if m["method"] == "$/progress", m["params"]?["value"]?["kind"] == "report" { reported = true }
            if m["id"] == id { XCTFail("finished before the cancel: \(m)"); return }
        }
        XCTAssertTrue(reported)
        d.notify("$/cancelRequest", ["id": id])
        let r = d.response(to: id)
        XCTAssertEqual(r["error"]?["code"]?.intValue, -32800)
        let partial = try XCTUnwrap(r["error"]?["data"])
        let taken = try XCTUnwrap(partial["steps"]?.intValue)
        XCTAssertGreaterThan(taken, 0)
        XCTAssertEqual(partial["stepCount"]?.intValue, taken)
        let info = d.call("model/info", ["name": "m"])["summary"]
        XCTAssertEqual(info?["trainingSteps"]?.intValue, taken)
        XCTAssertEqual(info?["fingerprint"], partial["fingerprint"])
    }

    /// trainStep takes the model's write lock: reads sent right behind it (pipelined, before
    /// its reply) wait for it and see the new weights; a read sent before it sees the old ones.
    func testReadsAreOrderedAroundTheWrite() throws {
        let d = try daemon()
        let created = d.call("model/create", ["name": "m", "architecture": "mnist-madry", "seed": 6])
        let before = d.request("model/info", ["name": "m"])
        let train = d.request("trainStep", ["model": "m", "dataset": "mnist-train", "steps": 3, "batchSize": 16])
        let after = d.request("model/info", ["name": "m"])
        let predicted = d.request("predict", ["model": "m", "inputs": ["dataset": "mnist-test", "indices": [0]], "returnLogits": true])
        let trained = d.response(to: train)["result"]
        XCTAssertEqual(d.response(to: before)["result"]?["summary"]?["fingerprint"], created["fingerprint"])
        XCTAssertEqual(d.response(to: after)["result"]?["summary"]?["fingerprint"], trained?["fingerprint"])
        let logits = d.response(to: predicted)["result"]?["predictions"]?[0]?["logits"]
        let fresh = d.call("predict", ["model": "m", "inputs": ["dataset": "mnist-test", "indices": [0]], "returnLogits": true])
        XCTAssertEqual(logits, fresh["predictions"]?[0]?["logits"], "the pipelined predict ran on the trained weights")
    }

    func testEvaluateCleanAndRobustAccuracy() throws {
        let d = try daemon()
        _ = d.call("model/create", ["name": "m", "architecture": "mnist-small", "seed": 4])
        _ = d.call("trainStep", ["model": "m", "dataset": "mnist-train", "steps": 30, "optimizer": ["kind": "adam", "learningRate": 0.003]])
        let indices = JSONValue.array((0..<200).map { .number(Double($0)) })
        let predicted = d.call("predict", ["model": "m", "inputs": ["dataset": "mnist-test", "indices": indices]])
        let clean = d.call("evaluate", ["model": "m", "dataset": "mnist-test", "batchSize": 64])
        XCTAssertEqual(clean["count"], 200)
        XCTAssertEqual(clean["cleanAccuracy"]?.doubleValue ?? -1, predicted["accuracy"]?.doubleValue ?? -2, accuracy: 1e-12)
        XCTAssertNil(clean["robustAccuracy"])
        XCTAssertGreaterThan(clean["cleanAccuracy"]?.doubleValue ?? 0, 0.5)
        let robust = d.call("evaluate", ["model": "m", "dataset": "mnist-test", "attack": ["method": "pgd", "epsilon": 0.3, "steps": 10, "stepSize": 0.05]])
        let r = try XCTUnwrap(robust["robustAccuracy"]?.doubleValue)
        XCTAssertLessThan(r, clean["cleanAccuracy"]!.doubleValue! - 0.3, "PGD at 0.3 breaks an undefended model")
        XCTAssertEqual(robust["attack"]?["steps"], 10)
        // The attack's own robust accuracy on the same images agrees.
        let attacked = d.call("attack", ["model": "m", "method": "pgd", "epsilon": 0.3, "steps": 10, "stepSize": 0.05,
                                         "inputs": ["dataset": "mnist-test", "indices": indices]])
        XCTAssertEqual(attacked["summary"]?["robustAccuracy"]?.doubleValue ?? -1, r, accuracy: 1e-12)
    }

    /// evaluate reports progress per chunk; a cancel answers -32800 with the figures over the
    /// chunks finished.
    func testEvaluateProgressAndCancel() throws {
        let d = try daemon()
        _ = d.call("model/create", ["name": "m", "architecture": "mnist-small", "seed": 4])
        let id = d.request("evaluate", ["model": "m", "dataset": "mnist-test", "batchSize": 8, "workDoneToken": "e",
                                        "attack": ["method": "pgd", "steps": 300, "earlyStop": false]])
        let partial = try XCTUnwrap(d.partialAfterFirstReport(id) { m in
            // Reports are rate-limited, so the first one seen may be past the first chunk; it
            // counts whole chunks of 8 all the same.
            let message = m["params"]?["value"]?["message"]?.stringValue ?? ""
            let done = Int(message.prefix { $0.isNumber }) ?? 0
            XCTAssertTrue(message.contains("/200, clean") && done > 0 && done % 8 == 0, "\(m)")
        })
        let count = try XCTUnwrap(partial["count"]?.intValue)
        XCTAssertTrue(count > 0 && count < 200 && count % 8 == 0, "whole chunks only: \(count)")
        XCTAssertNotNil(partial["robustAccuracy"]?.doubleValue)
    }

    func testBadParametersNameTheirField() throws {
        let d = try daemon()
        _ = d.call("model/create", ["name": "m", "architecture": "mnist-small"])
        let cases: [(String, JSONValue, String)] = [
            ("trainStep", ["model": "m", "dataset": "mnist-train", "objective": ["kind": "magic"]], "params.objective.kind"),
            ("trainStep", ["model": "m", "dataset": "mnist-train", "steps": 0], "params.steps"),
            ("trainStep", ["model": "m", "dataset": "mnist-train", "optimizer": ["kind": "adam", "momentum": 0.9]], "params.optimizer.momentum"),
            ("trainStep", ["model": "m", "dataset": "mnist-train", "schedule": ["kind": "cosine"]], "params.schedule.totalSteps"),
            ("trainStep", ["model": "m", "dataset": "mnist-train", "objective": ["kind": "consistent", "layers": ["nope"]]], "params.objective.layers[0]"),
            ("trainStep", ["model": "m", "dataset": "mnist-train", "objective": ["kind": "pgd", "adversary": ["method": "fgsm", "steps": 3]]],
             "params.objective.adversary.steps"),
            ("trainStep", ["model": "m", "inputs": ["dataset": "mnist-test", "indices": [0]], "labels": [12]], "params.labels[0]"),
            ("trainStep", ["model": "m"], "params"),
            ("evaluate", ["model": "m", "dataset": "mnist-test", "attack": ["method": "fgsm", "steps": 3]], "params.attack.steps"),
            ("evaluate", ["model": "m", "dataset": "mnist-test", "batchSize": 0], "params.batchSize"),
        ]
        for (method, params, field) in cases {
            let e = d.failure(method, params)
            XCTAssertEqual(e.code, -32602, "\(params)")
            XCTAssertTrue(e.message.hasPrefix(field), "\(e.message) should name \(field)")
        }
        XCTAssertNil(d.call("model/info", ["name": "m"])["summary"]?["trainingSteps"], "refused requests change nothing")
    }
}
