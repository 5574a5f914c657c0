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
        // Its 5,000 rows inflate past what the budget leaves: the read stops there.
        XCTAssertTrue(data.message.hasPrefix("dataset \"mnist\": ") && data.message.contains("more than the 1.7 MB the memory budget leaves"), data.message)
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

    /// A training step whose batch's activations would not fit beside what is resident is
    /// refused before it starts (-32011 naming params.batchSize and the largest batch that
    /// fits), the model untouched; that batch then trains. Before, nothing was checked, and
    /// a MobileNetV2-224 step at batch 256 (30 GB) had the system kill the daemon.
    func testATrainingBatchPastTheBudgetIsRefusedWithTheBatchThatFits() throws {
        let d = try DaemonProcess(arguments: ["--memory-limit", "1000000"])
        _ = d.initialize()
        _ = d.call("model/create", ["name": "small", "architecture": "mnist-small", "seed": 1])
        let before = d.call("model/info", ["name": "small"])["summary"]?["fingerprint"]
        XCTAssertNotNil(before)
        func step(_ n: Int) -> JSONValue {
            ["model": "small", "inputs": JSONValue.tensor(shape: [n, 1, 28, 28], values: (0..<(n * 784)).map { Float($0 % 97) / 97 }),
             "labels": .array((0..<n).map { .number(Double($0 % 10)) }), "steps": 1]
        }
        let refused = d.failure("trainStep", step(64))
        XCTAssertEqual(refused.code, -32011, refused.message)
        XCTAssertTrue(refused.message.hasPrefix("params.batchSize: a standard training step on 64 images holds about ")
                      && refused.message.contains("--memory-limit 1.0 MB"), refused.message)
        guard let range = refused.message.range(of: "a batch of at most "),
              let fits = Int(refused.message[range.upperBound...].prefix { $0.isNumber }) else {
            return XCTFail("no batch size in: \(refused.message)")
        }
        XCTAssertTrue((1..<64).contains(fits), refused.message)
        XCTAssertEqual(d.call("model/info", ["name": "small"])["summary"]?["fingerprint"], before, "the refused step changed nothing")
        XCTAssertEqual(d.call("trainStep", step(fits))["steps"], 1)
        XCTAssertEqual(d.failure("trainStep", step(fits + 1)).code, -32011)
    }

    /// A 200 kB gzip inflating to 200 MB of CSV stops being read at what the memory budget
    /// leaves (50 MB), not at --max-file-bytes (8 GiB by default): before, the whole 200 MB
    /// (and its parsed floats) was read before the budget was asked.
    func testAGzipBombStopsAtTheMemoryBudget() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("advlens-bomb-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let row = Array(repeating: "0", count: 784).joined(separator: ",") + ",1"
        let sh = Process()
        sh.executableURL = URL(fileURLWithPath: "/bin/sh")
        sh.arguments = ["-c", "yes '\(row)' | head -c 200000000 | gzip -1 > '\(dir.path)/bomb.csv.gz'"]
        try sh.run()
        sh.waitUntilExit()
        let made = (try? FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent("bomb.csv.gz").path)[.size] as? Int) ?? 0
        XCTAssertGreaterThan(made, 0, "the test's gzip file was made")

        let d = try DaemonProcess(arguments: ["--memory-limit", "50000000"])
        _ = d.initialize(root: dir.path)
        let refused = d.failure("dataset/load", ["name": "bomb", "kind": "mnist-csv", "path": "bomb.csv.gz"])
        XCTAssertEqual(refused.code, -32011, refused.message)
        XCTAssertTrue(refused.message.contains("the memory budget leaves") && refused.message.contains("--memory-limit"), refused.message)
        // The daemon's peak resident memory stayed far below the 200 MB the file inflates to.
        let status = try String(contentsOfFile: "/proc/\(d.process.processIdentifier)/status", encoding: .utf8)
        let peakKB = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }.flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? 0
        XCTAssertGreaterThan(peakKB, 0)
        XCTAssertLessThan(peakKB, 150_000, "peak RSS \(peakKB) kB")
        XCTAssertEqual(d.call("dataset/list")["datasets"]?.arrayValue?.count, 0)
    }
}
