import Foundation
import RPC
import XCTest

/// Resident models and datasets count against `--memory-limit`: one that would pass it is
/// refused with -32011 saying what holds the memory, the models already there keep serving,
/// and unloading makes room (instead of the kernel killing the daemon and every model in it).
final class MemoryBudgetTests: XCTestCase {
    func testModelsAndDatasetsPastTheBudgetAreRefusedSayingWhatHoldsTheMemory() throws {
        // mnist-small is 80,202 weights (321 kB); mnist-madry 3.27 M (13 MB); 5,000 MNIST images 15.7 MB.
        let d = try DaemonProcess(arguments: ["--memory-limit", "2000000"])
        _ = d.initialize()
        _ = d.call("model/create", ["name": "small", "architecture": "mnist-small"])
        let big = d.failure("model/create", ["name": "big", "architecture": "mnist-madry"])
        XCTAssertEqual(big.code, -32011)
        XCTAssertTrue(big.message.contains("model \"big\" needs 13.") && big.message.contains("--memory-limit")
                      && big.message.contains("model \"small\" 0.3 MB"), big.message)
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let data = d.failure("dataset/load", ["name": "mnist", "kind": "mnist-csv",
                                              "path": .string(root.appendingPathComponent("data/mnist_5k.csv.gz").path)])
        XCTAssertEqual(data.code, -32011, data.message)
        XCTAssertTrue(data.message.hasPrefix("dataset \"mnist\" needs"), data.message)
        // What is resident still serves; nothing refused was kept.
        XCTAssertEqual(d.call("model/list")["models"]?.arrayValue?.map { $0["name"] }, ["small"])
        XCTAssertEqual(d.call("dataset/list")["datasets"]?.arrayValue?.count, 0)
        XCTAssertNotNil(d.call("predict", ["model": "small", "inputs": JSONValue.tensor(shape: [1, 1, 28, 28], values: Array(repeating: 0.5, count: 784))])["predictions"])
        // Replacing a model counts the new one instead of both.
        _ = d.call("model/create", ["name": "small", "architecture": "mnist-small", "seed": 2])
        // Unloading makes room.
        _ = d.call("model/unload", ["name": "small"])
        XCTAssertEqual(d.failure("model/create", ["name": "big", "architecture": "mnist-madry"]).code, -32011, "13 MB is past 2 MB alone")
        _ = d.call("model/create", ["name": "again", "architecture": "mnist-small"])
    }
}
