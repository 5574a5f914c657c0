import Foundation
import RPC
import XCTest

/// A session whose initialize names its own cachePath keeps its handles there, and every
/// method that takes inputs reads them from there (not from the daemon's default database,
/// which here holds a different "adv-1").
final class SessionCacheTests: XCTestCase {
    func testEveryInputMethodReadsHandlesFromTheSessionsDatabase() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("advlens-session-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let w = ExplainTests.weights
        let load: JSONValue = ["name": "m", "spec": .string(w + "/model.json"), "weights": .string(w + "/model.safetensors")]
        let data: JSONValue = ["name": "mnist", "kind": "mnist-csv", "path": "data/mnist_5k.csv.gz", "split": ["testPerClass": 10]]

        // The default database gets an adv-1 of 5 images from another daemon.
        let other = try DaemonProcess(cache: dir.appendingPathComponent("default.sqlite"))
        _ = other.initialize()
        _ = other.call("model/load", load)
        _ = other.call("dataset/load", data)
        XCTAssertEqual(other.call("attack", ["model": "m", "method": "fgsm", "inputs": ["dataset": "mnist-test", "indices": [0, 1, 2, 3, 4]]])["handle"], "adv-1")
        other.notify("exit")
        _ = other.waitForExit()

        let d = try DaemonProcess(cache: dir.appendingPathComponent("default.sqlite"))
        _ = d.call("initialize", ["rootPath": .string(DaemonProcess.repositoryRoot.path),
                                  "cachePath": .string(dir.appendingPathComponent("session.sqlite").path)])
        d.notify("initialized")
        _ = d.call("model/load", load)
        _ = d.call("dataset/load", data)
        let made = d.call("attack", ["model": "m", "method": "fgsm", "inputs": ["dataset": "mnist-test", "indices": [7]]])
        XCTAssertEqual(made["handle"], "adv-1", "the session's own database numbers from 1")
        let handle: JSONValue = ["handle": "adv-1"]
        XCTAssertEqual(d.call("predict", ["model": "m", "inputs": handle])["count"], 1)
        XCTAssertNotNil(d.call("explainPrediction", ["model": "m", "input": handle, "methods": ["saliency"]])["prediction"])
        XCTAssertEqual(d.call("evaluate", ["model": "m", "inputs": handle])["count"], 1)
        XCTAssertEqual(d.call("probe", ["model": "m", "layer": "8", "kind": "activations", "inputs": handle])["count"], 1)
        XCTAssertEqual(d.call("handle/list")["handles"]?.arrayValue?.count, 1)
        XCTAssertEqual(d.call("trainStep", ["model": "m", "inputs": handle])["steps"], 1)
    }
}
