import Foundation
import RPC
import XCTest

/// model/save and model/load against torn and leftover files (issue 14): a training state
/// that belongs to other weights is ignored with a warning, never a refusal; temporaries of
/// killed writers are removed by the next save; spec and weights at one path are refused.
final class ModelSaveSafetyTests: XCTestCase {
    var root: URL!

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("advlens-save-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("data"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: DaemonProcess.repositoryRoot.appendingPathComponent("data/mnist_5k.csv.gz"),
                                         to: root.appendingPathComponent("data/mnist_5k.csv.gz"))
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: root) }

    func file(_ name: String) -> URL { root.appendingPathComponent(name) }

    /// A save killed between its renames leaves the new training state beside the old
    /// weights: model/load loads the weights and reports the state as ignored.
    func testStateOfOtherWeightsIsIgnoredWithAWarning() throws {
        let d = try DaemonProcess()
        _ = d.initialize(root: root.path)
        _ = d.call("dataset/load", ["name": "mnist", "kind": "mnist-csv", "path": "data/mnist_5k.csv.gz"])
        let created = d.call("model/create", ["name": "m", "architecture": "mnist-small", "seed": 1])
        let step: JSONValue = ["model": "m", "dataset": "mnist", "batchSize": 8, "steps": 1]
        _ = d.call("trainStep", step)
        let old = d.call("model/save", ["name": "m", "spec": "m.json", "weights": "m.safetensors"])
        XCTAssertNotNil(old["trainingState"])
        _ = d.call("trainStep", step)
        _ = d.call("model/save", ["name": "m", "spec": "new.json", "weights": "new.safetensors"])
        // The torn pair: the newer state over the older weights.
        try FileManager.default.removeItem(at: file("m.optimizer.safetensors"))
        try FileManager.default.copyItem(at: file("new.optimizer.safetensors"), to: file("m.optimizer.safetensors"))

        let loaded = d.call("model/load", ["name": "t", "spec": "m.json", "weights": "m.safetensors"])
        XCTAssertEqual(loaded["fingerprint"], old["fingerprint"], "the weights load")
        XCTAssertNotEqual(loaded["fingerprint"], created["fingerprint"])
        XCTAssertNil(loaded["trainingSteps"], "without the state")
        let warning = loaded["warnings"]?[0]?.stringValue ?? ""
        XCTAssertTrue(warning.hasPrefix("trainingState: ignored") && warning.contains("m.optimizer.safetensors")
                      && warning.contains("belongs to weights"), "\(loaded)")
        // An unreadable state is set aside the same way; a matching one still restores.
        try Data("not safetensors".utf8).write(to: file("m.optimizer.safetensors"))
        let garbled = d.call("model/load", ["name": "t", "spec": "m.json", "weights": "m.safetensors"])
        XCTAssertEqual(garbled["warnings"]?.arrayValue?.count, 1, "\(garbled)")
        let fine = d.call("model/load", ["name": "n", "spec": "new.json", "weights": "new.safetensors"])
        XCTAssertEqual(fine["trainingSteps"], 2)
        XCTAssertNil(fine["warnings"])
    }

    /// Temporaries `.<name>.tmp-PID-N` of a process that is gone are removed by the next save
    /// into their directory; those of a live process are kept.
    func testLeftoverTemporariesOfDeadWritersAreRemoved() throws {
        let gone = Process()
        gone.executableURL = URL(fileURLWithPath: "/bin/true")
        try gone.run()
        gone.waitUntilExit()
        let dead = gone.processIdentifier
        let live = getpid()
        let names = [".m.safetensors.tmp-\(dead)-12345", ".m.json.tmp-\(dead)-7", ".other.tmp-\(dead)-1"]
        for n in names { try Data(count: 4096).write(to: file(n)) }
        let kept = ".m.safetensors.tmp-\(live)-99"
        try Data(count: 10).write(to: file(kept))
        try Data(count: 10).write(to: file("notes.tmp-1-2.txt"))

        let d = try DaemonProcess()
        _ = d.initialize(root: root.path)
        _ = d.call("model/create", ["name": "m", "architecture": "mnist-small"])
        _ = d.call("model/save", ["name": "m", "spec": "m.json", "weights": "m.safetensors"])
        let left = Set(try FileManager.default.contentsOfDirectory(atPath: root.path))
        for n in names { XCTAssertFalse(left.contains(n), n) }
        XCTAssertTrue(left.contains(kept), "a live process's temporary stays")
        XCTAssertTrue(left.contains("notes.tmp-1-2.txt"), "other files stay")
        XCTAssertTrue(left.isSuperset(of: ["m.json", "m.safetensors"]))
        XCTAssertEqual(left.filter { $0.contains(".tmp-") }.count, 2)
    }

    /// Spec and weights (or the spec and the weights' training state) at one path would
    /// leave files that cannot be loaded: refused, naming the field.
    func testSpecAndWeightsAtOnePathAreRefused() throws {
        let d = try DaemonProcess()
        _ = d.initialize(root: root.path)
        _ = d.call("model/create", ["name": "m", "architecture": "mnist-small"])
        let same = d.failure("model/save", ["name": "m", "spec": "x.safetensors", "weights": "./x.safetensors"])
        XCTAssertEqual(same.code, -32602)
        XCTAssertTrue(same.message.contains("params.weights") && same.message.contains("same file as params.spec"), same.message)
        let state = d.failure("model/save", ["name": "m", "spec": "x.optimizer.safetensors", "weights": "x.safetensors"])
        XCTAssertEqual(state.code, -32602)
        XCTAssertTrue(state.message.contains("params.spec") && state.message.contains("training state"), state.message)
        XCTAssertFalse(FileManager.default.fileExists(atPath: file("x.safetensors").path), "nothing written")
        _ = d.call("model/save", ["name": "m", "spec": "x.json", "weights": "x.safetensors"])
        XCTAssertNotNil(d.call("model/load", ["name": "y", "spec": "x.json", "weights": "x.safetensors"])["fingerprint"])
    }
}
