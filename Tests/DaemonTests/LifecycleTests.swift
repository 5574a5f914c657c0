import Foundation
import RPC
import XCTest

/// The LSP-style lifecycle through the real binary: initialize, initialized, shutdown, exit.
final class LifecycleTests: XCTestCase {
    func testRequestsBeforeInitializeAreRefused() throws {
        let d = try DaemonProcess()
        let r = d.response(to: d.request("model/list"))
        XCTAssertEqual(r["error"]?["code"]?.intValue, -32002)
        _ = d.initialize()
        XCTAssertNotNil(d.call("model/list")["models"])
    }

    func testInitializeAnswersCapabilitiesAndEngine() throws {
        let d = try DaemonProcess()
        let result = d.initialize()
        XCTAssertEqual(result["serverInfo"]?["name"], "advlensd")
        let caps = result["capabilities"]!
        let methods = caps["methods"]?.arrayValue?.compactMap(\.stringValue) ?? []
        for m in ["initialize", "shutdown", "model/create", "model/load", "model/save", "model/list", "model/info", "model/unload",
                  "dataset/load", "dataset/list", "dataset/info", "predict"] {
            XCTAssertTrue(methods.contains(m), "capabilities lack \(m)")
        }
        XCTAssertEqual(caps["architectures"]?.arrayValue?.compactMap(\.stringValue), ["mnist-small", "mnist-madry", "shapes-cnn", "resnet18", "resnet34", "resnet50",
                                                                           "vgg11", "vgg11_bn", "vgg16", "vgg16_bn", "alexnet", "squeezenet1_1", "densenet121",
                                                                           "mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large", "efficientnet_b0", "vit"])
        XCTAssertTrue(caps["layerTypes"]?.arrayValue?.contains("residual") ?? false)
        let engine = caps["engine"]!
        XCTAssertFalse(engine["blasCore"]?.stringValue?.isEmpty ?? true)
        XCTAssertGreaterThanOrEqual(engine["blasThreads"]?.intValue ?? 0, 1)
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        if cpuinfo.contains("avx512bw") && ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil {
            XCTAssertEqual(engine["blasCore"], "SkylakeX")
            XCTAssertEqual(engine["blasCoreSelection"], "auto")
        }
    }

    func testShutdownThenExitExitsZero() throws {
        let d = try DaemonProcess()
        _ = d.initialize()
        XCTAssertEqual(d.call("shutdown"), .object(JSONObject()))
        let after = d.response(to: d.request("model/list"))
        XCTAssertEqual(after["error"]?["code"]?.intValue, -32600, "requests after shutdown are invalid")
        d.notify("exit")
        XCTAssertEqual(d.waitForExit(), 0)
    }

    func testExitWithoutShutdownExitsOne() throws {
        let d = try DaemonProcess()
        _ = d.initialize()
        d.notify("exit")
        XCTAssertEqual(d.waitForExit(), 1)
    }

    func testClosedInputWithoutShutdownExitsOne() throws {
        let d = try DaemonProcess()
        _ = d.initialize()
        d.closeInput()
        XCTAssertEqual(d.waitForExit(), 1)
    }

    /// `printf '{"jsonrpc":"2.0",...}\n' | advlensd` works in a shell pipeline.
    func testNewlineDelimitedJSONInAShellPipeline() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        // Its cache database in a private directory, never ~/.cache.
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("advlens-pipeline-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: cache) }
        p.environment = ProcessInfo.processInfo.environment.merging(["XDG_CACHE_HOME": cache.path]) { $1 }
        let lines = [#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#,
                     #"{"jsonrpc":"2.0","id":2,"method":"model/create","params":{"name":"m","architecture":"mnist-small","seed":1}}"#,
                     #"{"jsonrpc":"2.0","id":3,"method":"shutdown"}"#,
                     #"{"jsonrpc":"2.0","method":"exit"}"#]
        p.arguments = ["-c", "printf '%s\\n' '\(lines.joined(separator: "' '"))' | '\(DaemonProcess.binary.path)' --log-level error"]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        let replies = text.split(separator: "\n").compactMap { try? JSONText.parse(String($0)) }
        XCTAssertEqual(replies.count, 3, text)
        XCTAssertEqual(replies.first { $0["id"] == 2 }?["result"]?["architecture"], "mnist-small")
        XCTAssertFalse(text.contains("Content-Length"), "NDJSON in, NDJSON out")
    }
}

/// SIGTERM while a request runs (issue 14): the request gets --drain-timeout to finish, then is
/// cancelled and answered with its partial result, and only then does the daemon exit.
final class DrainOnStopTests: XCTestCase {
    /// A daemon with the given --drain-timeout running a PGD attack (no early stop, with
    /// progress) on the first `images` test images; the attack request's id.
    func attacking(drainTimeout: Int, architecture: String, steps: Int, images: Int) throws -> (DaemonProcess, JSONValue) {
        let d = try DaemonProcess(arguments: ["--drain-timeout", String(drainTimeout)])
        _ = d.initialize()
        _ = d.call("dataset/load", ["name": "mnist", "kind": "mnist-csv", "path": "data/mnist_5k.csv.gz", "split": ["testPerClass": 2]])
        _ = d.call("model/create", ["name": "m", "architecture": .string(architecture), "seed": 0])
        let id = d.request("attack", ["model": "m", "method": "pgd", "steps": .number(Double(steps)), "earlyStop": false, "workDoneToken": "t",
                                      "inputs": ["dataset": "mnist-test", "indices": .array((0..<images).map { .number(Double($0)) })]])
        return (d, id)
    }

    /// Reads until request `id` reports progress (true), failing the test if it answers first.
    func runsPastItsFirstReport(_ d: DaemonProcess, _ id: JSONValue) throws -> Bool {
        while let m = d.readMessage(timeout: 600) {   // a hang guard only
            if m["method"] == "$/progress", m["params"]?["value"]?["kind"] == "report" { return true }
            if m["id"] == id { XCTFail("finished before SIGTERM: \(m)"); return false }
        }
        XCTFail("no progress report")
        return false
    }

    func testSIGTERMAnswersTheRunningAttackWithItsPartialResult() throws {
        // 100,000 steps without early stopping cannot finish within the 1 s drain timeout.
        let (d, id) = try attacking(drainTimeout: 1, architecture: "mnist-madry", steps: 100_000, images: 4)
        guard try runsPastItsFirstReport(d, id) else { return }
        kill(d.process.processIdentifier, SIGTERM)
        let r = d.response(to: id, timeout: 30)
        XCTAssertEqual(r["error"]?["code"]?.intValue, -32800)
        XCTAssertEqual(r["error"]?["message"], "request cancelled: the daemon is stopping")
        let partial = try XCTUnwrap(r["error"]?["data"], "the partial result: \(r)")
        XCTAssertEqual(partial["summary"]?["stoppedEarly"], true)
        XCTAssertEqual(partial["samples"]?.arrayValue?.count, 4)
        XCTAssertEqual(d.waitForExit(timeout: 30), 1, "no shutdown was received")
    }

    /// Work that ends within the drain timeout is answered whole, not cancelled.
    func testSIGTERMLetsShortRequestsFinish() throws {
        // A few seconds of work: well within the 30 s drain timeout.
        let (d, id) = try attacking(drainTimeout: 30, architecture: "mnist-small", steps: 5000, images: 2)
        guard try runsPastItsFirstReport(d, id) else { return }
        kill(d.process.processIdentifier, SIGTERM)
        let r = d.response(to: id, timeout: 60)
        XCTAssertNil(r["error"], "finished within the drain timeout: \(r)")
        XCTAssertEqual(r["result"]?["summary"]?["stoppedEarly"], false)
        XCTAssertEqual(d.waitForExit(timeout: 30), 1)
    }
}
