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
}
