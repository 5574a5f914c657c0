import Foundation
import RPC
import XCTest

/// Bad bytes at the daemon's door: each gets an error reply or a clean exit, never a crash or
/// a hang, and a model loaded before survives.
final class TransportErrorTests: XCTestCase {
    func ready(_ framing: DaemonProcess.Framing = .contentLength, arguments: [String] = []) throws -> DaemonProcess {
        let d = try DaemonProcess(framing: framing, arguments: arguments)
        _ = d.initialize()
        _ = d.call("model/create", ["name": "m", "architecture": "mnist-small"])
        return d
    }

    func assertStillServing(_ d: DaemonProcess, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(d.call("model/list", file: file, line: line)["models"]?.arrayValue?.count, 1, "the model survived", file: file, line: line)
    }

    func errorReply(_ d: DaemonProcess) -> JSONValue? {
        while let m = d.readMessage(timeout: 10) { if m["error"] != nil { return m } }
        return nil
    }

    func testMalformedJSONIsAParseError() throws {
        let d = try ready()
        let body = Array(#"{"jsonrpc": "2.0", "id": 9, "method": "model/list""#.utf8)
        d.sendRaw(Array("Content-Length: \(body.count)\r\n\r\n".utf8) + body)
        XCTAssertEqual(errorReply(d)?["error"]?["code"]?.intValue, -32700)
        assertStillServing(d)
    }

    func testNonUTF8IsAParseError() throws {
        let d = try ready()
        let body: [UInt8] = Array(#"{"jsonrpc":"2.0","id":4,"method":"model/info","params":{"name":""#.utf8) + [0xFF, 0xFE] + Array(#""}}"#.utf8)
        d.sendRaw(Array("Content-Length: \(body.count)\r\n\r\n".utf8) + body)
        XCTAssertEqual(errorReply(d)?["error"]?["code"]?.intValue, -32700)
        assertStillServing(d)
    }

    func testDeepNestingIsRefused() throws {
        let d = try ready(.lines)
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        d.sendRaw(Array(#"{"jsonrpc":"2.0","id":5,"method":"model/list","params":\#(deep)}"#.utf8) + [0x0A])
        let reply = errorReply(d)
        XCTAssertNotNil(reply)
        XCTAssertTrue([-32700, -32600].contains(reply?["error"]?["code"]?.intValue ?? 0))
        assertStillServing(d)
    }

    func testOversizeMessageIsRefused() throws {
        let d = try ready(arguments: ["--max-message-bytes", "100000"])
        let big = String(repeating: "a", count: 200_000)
        d.request("model/info", ["name": .string(big)])
        XCTAssertNotNil(errorReply(d))
        assertStillServing(d)
    }

    func testUnknownMethodAndInvalidRequests() throws {
        let d = try ready()
        XCTAssertEqual(d.failure("model/frobnicate").code, -32601)
        d.send(["jsonrpc": "1.0", "id": 77, "method": "model/list"])
        XCTAssertEqual(d.response(to: 77)["error"]?["code"]?.intValue, -32600)
        d.send(["jsonrpc": "2.0", "id": 78, "method": 12])
        XCTAssertEqual(d.response(to: 78)["error"]?["code"]?.intValue, -32600)
        let e = d.failure("model/create", ["name": 5, "architecture": "mnist-small"])
        XCTAssertEqual(e.code, -32602)
        XCTAssertTrue(e.message.contains("params.name"), e.message)
        assertStillServing(d)
    }

    func testDuplicateIDWhileTheFirstRuns() throws {
        let d = try ready()
        _ = d.call("dataset/load", ["name": "mnist", "kind": "mnist-csv", "path": "data/mnist_5k.csv.gz"])
        let indices = JSONValue.array((0..<20_000).map { .number(Double($0 % 5000)) })
        d.request("predict", ["model": "m", "inputs": ["dataset": "mnist", "indices": indices]], id: 500)
        d.request("model/list", nil, id: 500)
        var replies: [JSONValue] = []
        while replies.count < 2, let m = d.readMessage(timeout: 60) { if m["id"] == 500 { replies.append(m) } }
        XCTAssertEqual(replies.count, 2)
        XCTAssertEqual(replies.filter { $0["error"]?["code"]?.intValue == -32600 }.count, 1, "the duplicate is refused")
        XCTAssertEqual(replies.filter { $0["result"]?["count"] == 20_000 }.count, 1, "the first still answers")
    }

    /// A frame cut short by the peer going away: the daemon exits cleanly (1: no shutdown).
    func testTruncatedFrameAtEndOfStream() throws {
        let d = try ready()
        d.sendRaw(Array("Content-Length: 500\r\n\r\n{\"jsonrpc\": \"2.0\"".utf8))
        d.closeInput()
        XCTAssertEqual(d.waitForExit(), 1)
    }

    func testBadContentLengthHeader() throws {
        let d = try ready()
        d.sendRaw(Array("Content-Length: banana\r\n\r\n{}".utf8))
        let reply = errorReply(d)
        if reply == nil {
            XCTAssertNotNil(d.waitForExit(), "either an error reply or a clean exit")
        }
    }

    /// The client vanishes while a long request runs: the daemon stops the work and exits.
    func testClientVanishingMidRequest() throws {
        let d = try ready()
        _ = d.call("dataset/load", ["name": "mnist", "kind": "mnist-csv", "path": "data/mnist_5k.csv.gz"])
        let indices = JSONValue.array((0..<60_000).map { .number(Double($0 % 5000)) })
        d.request("predict", ["model": "m", "inputs": ["dataset": "mnist", "indices": indices]])
        usleep(200_000)
        d.closeInput()
        try? d.stdout.fileHandleForReading.close()
        XCTAssertEqual(d.waitForExit(timeout: 10), 1)
    }
}
