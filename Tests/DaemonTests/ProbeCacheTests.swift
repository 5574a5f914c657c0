import Foundation
import RPC
import XCTest

/// probe's activation cache in the cache database: a repeated probe reads the rows the first
/// one wrote and gives the same answer; another model (other weights) misses by construction.
final class ProbeCacheTests: XCTestCase {
    func rows(_ d: DaemonProcess) -> Int {
        let tables = d.call("cache/stats")["tables"]?.arrayValue ?? []
        return tables.first { $0["name"] == "activations" }?["rows"]?.intValue ?? -1
    }

    func testRepeatedProbesReadTheCacheAndAgree() throws {
        let d = try DaemonProcess()
        _ = d.initialize()
        let w = ExplainTests.weights
        _ = d.call("model/load", ["name": "m", "spec": .string(w + "/model.json"), "weights": .string(w + "/model.safetensors")])
        _ = d.call("dataset/load", ["name": "mnist", "kind": "mnist-csv", "path": "data/mnist_5k.csv.gz", "split": ["testPerClass": 30]])
        XCTAssertEqual(rows(d), 0)
        let probe: JSONValue = ["model": "m", "layer": "3", "kind": "topActivations", "k": 5, "dataset": ["name": "mnist-test"]]
        let first = d.call("probe", probe)
        XCTAssertEqual(rows(d), 300, "one row per image")
        let second = d.call("probe", probe)
        XCTAssertEqual(first["top"], second["top"], "the cached activations give the same answer, locations included")
        XCTAssertEqual(rows(d), 300, "nothing new computed")
        // Mean is another reduction: new rows; the max rows still serve the max probe.
        _ = d.call("probe", ["model": "m", "layer": "3", "kind": "activations", "reduction": "mean", "dataset": ["name": "mnist-test"]])
        XCTAssertEqual(rows(d), 600)
        // Cleared cache: computed afresh, the same answer.
        _ = d.call("cache/clear")
        XCTAssertEqual(d.call("probe", probe)["top"], first["top"])
        XCTAssertEqual(rows(d), 300)
        // Other weights under the same name: their fingerprint differs, so they miss.
        _ = d.call("model/create", ["name": "m", "architecture": "mnist-small", "seed": 3])
        let other = d.call("probe", probe)
        XCTAssertEqual(rows(d), 600)
        XCTAssertNotEqual(other["top"], first["top"])
    }
}
