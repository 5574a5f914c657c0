import Foundation
import RPC
import XCTest

/// model/* and dataset/* through the real binary.
final class ModelMethodsTests: XCTestCase {
    var root: URL!

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("advlens-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: root)
    }

    func testCreateInfoListSaveLoadUnload() throws {
        let d = try DaemonProcess()
        _ = d.initialize(root: root.path)
        let created = d.call("model/create", ["name": "a", "architecture": "mnist-small", "seed": 3])
        XCTAssertEqual(created["parameters"]?.intValue, 16 * 25 + 16 + 32 * 400 + 32 + 512 * 128 + 128 + 128 * 10 + 10)
        let fingerprint = created["fingerprint"]!

        let info = d.call("model/info", ["name": "a"])
        let layers = info["layers"]?.arrayValue ?? []
        XCTAssertEqual(layers.count, 10)
        XCTAssertEqual(layers.first?["outputShape"], [16, 24, 24])
        XCTAssertEqual(layers.last?["outputShape"], [10])
        XCTAssertEqual(info["input"]?["range"], [0, 1])

        let saved = d.call("model/save", ["name": "a", "spec": "a.json", "weights": "a.safetensors"])
        XCTAssertEqual(saved["fingerprint"], fingerprint)
        XCTAssertTrue(FileManager.default.fileExists(atPath: root.appendingPathComponent("a.safetensors").path))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: root.path).filter { $0.contains("tmp") }
        XCTAssertEqual(leftovers, [], "atomic save leaves no temporary files")

        let loaded = d.call("model/load", ["name": "b", "spec": "a.json", "weights": "a.safetensors"])
        XCTAssertEqual(loaded["fingerprint"], fingerprint)
        // Loading over an existing name replaces it.
        _ = d.call("model/create", ["name": "b", "architecture": "mnist-small", "seed": 4])
        XCTAssertNotEqual(d.call("model/info", ["name": "b"])["summary"]?["fingerprint"], fingerprint)

        let names = d.call("model/list")["models"]?.arrayValue?.compactMap { $0["name"]?.stringValue }
        XCTAssertEqual(names, ["a", "b"])
        _ = d.call("model/unload", ["name": "a"])
        XCTAssertEqual(d.failure("model/info", ["name": "a"]).code, -32001)
        XCTAssertEqual(d.failure("model/unload", ["name": "a"]).code, -32001)
    }

    func testLoadErrorsNameTheProblem() throws {
        let d = try DaemonProcess()
        _ = d.initialize(root: root.path)
        _ = d.call("model/create", ["name": "a", "architecture": "mnist-small"])
        _ = d.call("model/save", ["name": "a", "spec": "a.json", "weights": "a.safetensors"])
        let weights = try Data(contentsOf: root.appendingPathComponent("a.safetensors"))
        try weights.prefix(1000).write(to: root.appendingPathComponent("cut.safetensors"))
        let cut = d.failure("model/load", ["name": "c", "spec": "a.json", "weights": "cut.safetensors"])
        XCTAssertEqual(cut.code, -32012)
        XCTAssertTrue(cut.message.contains("cut.safetensors"), cut.message)

        let missing = d.failure("model/load", ["name": "c", "spec": "none.json", "weights": "a.safetensors"])
        XCTAssertEqual(missing.code, -32012)
        XCTAssertTrue(missing.message.contains("none.json"), missing.message)

        try Data(#"{"name": "x", "input": {"shape": [1, 28, 28], "range": [0, 1]}, "classes": [], "layers": [{"name": "0", "type": "conv2d", "kernel_size": 5}]}"#.utf8)
            .write(to: root.appendingPathComponent("bad.json"))
        let bad = d.failure("model/load", ["name": "c", "spec": "bad.json", "weights": "a.safetensors"])
        XCTAssertEqual(bad.code, -32602)
        XCTAssertTrue(bad.message.contains("layers[0].in_channels"), bad.message)

        // A misspelt field of the saved spec is refused, not read as its default.
        let saved = try String(contentsOf: root.appendingPathComponent("a.json"), encoding: .utf8)
        let typo = saved.replacingOccurrences(of: "\"kernel_size\"", with: "\"kernal_size\"")
        XCTAssertNotEqual(typo, saved)
        try Data(typo.utf8).write(to: root.appendingPathComponent("typo.json"))
        let misspelt = d.failure("model/load", ["name": "c", "spec": "typo.json", "weights": "a.safetensors"])
        XCTAssertEqual(misspelt.code, -32602)
        XCTAssertTrue(misspelt.message.contains(#"layers[0].kernal_size: unknown field; did you mean "kernel_size"?"#), misspelt.message)

        let unknown = d.failure("model/create", ["name": "c", "architecture": "resnet-1000"])
        XCTAssertTrue(unknown.message.contains("params.architecture"), unknown.message)
        XCTAssertEqual(d.failure("model/create", ["name": "c/d", "architecture": "mnist-small"]).code, -32602)
        // Still serving, and the failed loads left no model behind.
        XCTAssertEqual(d.call("model/list")["models"]?.arrayValue?.count, 1)
    }

    func testPathsOutsideTheRootAreRefused() throws {
        let d = try DaemonProcess()
        _ = d.initialize(root: root.path)
        _ = d.call("model/create", ["name": "a", "architecture": "mnist-small"])
        for path in ["../escape.json", "/etc/passwd", "sub/../../x.json"] {
            let e = d.failure("model/save", ["name": "a", "spec": .string(path), "weights": "w.safetensors"])
            XCTAssertEqual(e.code, -32013, path)
            XCTAssertTrue(e.message.contains("params.spec"), e.message)
        }
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("link").path, withDestinationPath: "/tmp")
        XCTAssertEqual(d.failure("model/save", ["name": "a", "spec": "link/x.json", "weights": "w.safetensors"]).code, -32013)
        XCTAssertEqual(d.failure("predict", ["model": "a", "inputs": ["path": "../x.png"]]).code, -32013)
    }

    func testDatasetLoadWithStratifiedSplitListAndInfo() throws {
        let d = try DaemonProcess()
        _ = d.initialize()
        let loaded = d.call("dataset/load", ["name": "mnist", "kind": "mnist-csv", "path": "data/mnist_5k.csv.gz",
                                             "split": ["testPerClass": 100, "seed": 0]])
        let parts = loaded["datasets"]?.arrayValue ?? []
        XCTAssertEqual(parts.compactMap { $0["name"]?.stringValue }, ["mnist-train", "mnist-test"])
        XCTAssertEqual(parts.compactMap { $0["count"]?.intValue }, [4000, 1000])
        let info = d.call("dataset/info", ["name": "mnist-test"])
        XCTAssertEqual(info["classCounts"], .array(Array(repeating: 100, count: 10)))
        XCTAssertEqual(info["imageShape"], [1, 28, 28])
        XCTAssertEqual(d.call("dataset/list")["datasets"]?.arrayValue?.count, 2)
        XCTAssertEqual(d.failure("dataset/load", ["name": "x", "kind": "parquet", "path": "data/mnist_5k.csv.gz"]).code, -32602)
        XCTAssertEqual(d.failure("dataset/load", ["name": "x", "kind": "mnist-idx", "images": "nope"]).code, -32602)
        XCTAssertEqual(d.failure("dataset/info", ["name": "nope"]).code, -32001)
    }
}
