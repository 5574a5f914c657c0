import Foundation
import RPC
import XCTest

/// What a careless or hostile client sends at the transport level, through the real binary:
/// every message gets an answer (never silence), ids come back exactly as sent, and no message
/// holds memory out of proportion to what runs. A model loaded first survives each case.
final class HostileClientTests: XCTestCase {
    func ready(_ framing: DaemonProcess.Framing = .contentLength) throws -> DaemonProcess {
        let d = try DaemonProcess(framing: framing)
        _ = d.initialize()
        _ = d.call("model/create", ["name": "m", "architecture": "mnist-small"])
        return d
    }

    func assertStillServing(_ d: DaemonProcess, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(d.call("model/list", file: file, line: line)["models"]?.arrayValue?.count, 1, "the model survived", file: file, line: line)
    }

    func frame(_ text: String) -> [UInt8] { Array("Content-Length: \(text.utf8.count)\r\n\r\n\(text)".utf8) }

    /// A bare JSON line in a Content-Length stream used to be taken for an unknown header and
    /// dropped, leaving its caller waiting forever; it is now read as a message.
    func testABareJSONLineBetweenFramesIsAnswered() throws {
        let d = try ready()
        d.sendRaw(Array(#"{"jsonrpc":"2.0","id":7,"method":"model/list"}"#.utf8) + [0x0A])
        d.sendRaw(frame(#"{"jsonrpc":"2.0","id":8,"method":"model/list"}"#))
        XCTAssertEqual(d.response(to: 7)["result"]?["models"]?.arrayValue?.count, 1)
        XCTAssertEqual(d.response(to: 8)["result"]?["models"]?.arrayValue?.count, 1)
        // Broken JSON on such a line is a parse error with its id, not silence.
        d.sendRaw(Array(#"{"jsonrpc":"2.0","id":9,"method":"model/list""#.utf8) + [0x0A])
        XCTAssertEqual(d.response(to: 9)["error"]?["code"]?.intValue, -32700)
        assertStillServing(d)
    }

    /// A 200-byte spec declaring a linear layer of 4·10⁹ outputs, with an empty weights file,
    /// used to abort the daemon (allocation failure) and lose every model; it is refused.
    func testHugeSpecWithSmallWeightsIsRefused() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("advlens-hugespec-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let spec = #"{"name": "x", "input": {"shape": [1, 28, 28], "range": [0, 1]}, "classes": ["a", "b"], "layers": [{"type": "flatten", "name": "f"}, {"type": "linear", "name": "l", "in_features": 784, "out_features": 4000000000}]}"#
        try Data(spec.utf8).write(to: dir.appendingPathComponent("spec.json"))
        let header = Array("{}      ".utf8)
        try Data(withUnsafeBytes(of: UInt64(header.count).littleEndian, Array.init) + header).write(to: dir.appendingPathComponent("w.safetensors"))
        let d = try DaemonProcess(root: dir)
        _ = d.initialize()
        _ = d.call("model/create", ["name": "m", "architecture": "mnist-small"])
        let refused = d.failure("model/load", ["name": "x", "spec": "spec.json", "weights": "w.safetensors"])
        XCTAssertEqual(refused.code, -32602)
        XCTAssertTrue(refused.message.contains("weights file holds 0"), refused.message)
        assertStillServing(d)
    }

    /// Integer ids round-trip exactly over the whole 64-bit range; ids that would come back
    /// changed are refused (-32600, id null) instead of being answered under another id.
    func testIdsRoundTripExactly() throws {
        for framing in [DaemonProcess.Framing.contentLength, .lines] {
            let d = try ready(framing)
            for id: Int64 in [9_007_199_254_740_993, -9_223_372_036_854_775_808, 9_223_372_036_854_775_807] {
                d.request("model/list", id: .integer(id))
                XCTAssertEqual(d.readMessage()?["id"], .integer(id), "id \(id)")
            }
            for raw in ["-9223372036854775809", "9223372036854775808", "1.5", "1e300"] {
                let text = #"{"jsonrpc":"2.0","id":\#(raw),"method":"model/list"}"#
                d.sendRaw(framing == .lines ? Array(text.utf8) + [0x0A] : frame(text))
                let reply = d.readMessage()
                XCTAssertEqual(reply?["error"]?["code"]?.intValue, -32600, "id \(raw)")
                XCTAssertEqual(reply?["id"], .null, "id \(raw)")
            }
            assertStillServing(d)
        }
    }

    /// A batch longer than the limit is refused whole before it is parsed (an 8 MB message of
    /// four million tiny requests used to take gigabytes); batches within it run as before.
    func testBatchesHaveALengthLimit() throws {
        let d = try ready(.lines)
        let one = #"{"jsonrpc":"2.0","id":1,"method":"model/list"}"#
        d.sendRaw(Array(("[" + Array(repeating: one, count: 3).enumerated().map { i, _ in
            #"{"jsonrpc":"2.0","id":\#(100 + i),"method":"model/list"}"# }.joined(separator: ",") + "]").utf8) + [0x0A])
        XCTAssertEqual(d.readMessage()?.arrayValue?.count, 3)
        for count in [1001, 4_000_000] {
            var text = "["
            text.reserveCapacity(count * 3)
            text += Array(repeating: "{}", count: count).joined(separator: ",")
            text += "]"
            d.sendRaw(Array(text.utf8) + [0x0A])
            let reply = d.readMessage(timeout: 60)
            XCTAssertEqual(reply?["error"]?["code"]?.intValue, -32600, "\(count) requests")
            XCTAssertTrue(reply?["error"]?["message"]?.stringValue?.contains("at most 1000") == true, "\(String(describing: reply))")
        }
        // Exactly at the limit is a batch like any other (each empty object is an invalid request).
        d.sendRaw(Array(("[" + Array(repeating: "{}", count: 1000).joined(separator: ",") + "]").utf8) + [0x0A])
        XCTAssertEqual(d.readMessage(timeout: 60)?.arrayValue?.count, 1000)
        assertStillServing(d)
    }

    /// Ensemble weights near Float.max used to overflow when normalised (their sum is inf), so
    /// the attack moved nothing and reported failure; they now weigh as their ratio says.
    func testHugeEnsembleWeightsNormaliseByTheirRatio() throws {
        let d = try ready()
        _ = d.call("model/create", ["name": "n", "architecture": "mnist-small", "seed": 2])
        let image = JSONValue.tensor(shape: [2, 1, 28, 28], values: (0..<(2 * 784)).map { Float($0 % 17) / 17 })
        func attack(_ w: Double) -> JSONValue {
            d.call("attack", ["models": [["name": "m", "weight": .number(w)], ["name": "n", "weight": .number(w)]], "method": "fgsm",
                              "epsilon": 0.3, "inputs": image])   // labels: the clean predictions, so every sample is attacked
        }
        let huge = attack(3e38), unit = attack(1)
        XCTAssertEqual(huge["summary"]?["meanLinf"], unit["summary"]?["meanLinf"])
        XCTAssertEqual(huge["samples"], unit["samples"], "the same attack as with equal unit weights")
        XCTAssertGreaterThan(huge["samples"]?[0]?["linf"]?.doubleValue ?? 0, 0.29, "the attack moved the image")
        d.request("attack", ["models": [["name": "m", "weight": 3e38], ["name": "n", "weight": 1e-40]], "method": "fgsm",
                             "inputs": image, "labels": [1, 2]])
        let f = d.readMessage()
        XCTAssertEqual(f?["error"]?["code"]?.intValue, -32602)
        XCTAssertTrue(f?["error"]?["message"]?.stringValue?.hasPrefix("params.models[1].weight") == true, "\(String(describing: f))")
    }

    /// A large refused request gives its memory back: the resident size returns to near where
    /// it was (it used to stay about 150 MB up after one 50 MB message).
    func testMemoryOfALargeRefusedRequestIsReturned() throws {
        let d = try ready()
        func residentKB() -> Int {
            let status = (try? String(contentsOfFile: "/proc/\(d.process.processIdentifier)/status", encoding: .utf8)) ?? ""
            let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
            return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
        }
        let before = residentKB()
        XCTAssertGreaterThan(before, 0)
        let f = d.failure("model/info", ["name": .string(String(repeating: "x", count: 50_000_000))])
        XCTAssertEqual(f.code, -32001)
        XCTAssertLessThan(f.message.utf8.count, 1000, "the echoed name is capped")
        // The trim runs a moment after the reply; wait for it (bounded), then compare.
        var after = residentKB()
        for _ in 0..<100 where after > before + 32_000 {
            Thread.sleep(forTimeInterval: 0.1)
            after = residentKB()
        }
        XCTAssertLessThan(after, before + 32_000, "resident \(after) KB after, \(before) KB before")
        assertStillServing(d)
    }
}
