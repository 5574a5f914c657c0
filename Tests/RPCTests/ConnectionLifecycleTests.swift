import Foundation
import XCTest
import RPC

/// LSP lifecycle and JSON-RPC semantics, through real pipes, in both framings.
final class ConnectionLifecycleTests: XCTestCase {
    func code(_ m: JSONValue?) -> Int? { m?["error"]?["code"]?.intValue }

    func testFullLifecycleExitZero() {
        for framing in [Framing.newlineDelimited, .contentLength] {
            let h = ToyHandler()
            let peer = TestPeer(handler: h, framing: framing)
            peer.request(1, "echo", ["x": 1])
            XCTAssertEqual(code(peer.receive()), ErrorCode.serverNotInitialized)
            peer.notify("initialized")                  // dropped before initialize
            peer.initialize()
            peer.request(2, "echo", ["x": 1])
            XCTAssertEqual(peer.reply(to: 2)?["result"], ["x": 1])
            XCTAssertEqual(peer.connection.framing, framing)
            peer.request(3, "initialize")
            XCTAssertEqual(code(peer.receive()), ErrorCode.invalidRequest)
            peer.request(4, "shutdown")
            XCTAssertEqual(peer.reply(to: 4)?["result"], .null)
            peer.request(5, "echo")
            let r5 = peer.receive()
            XCTAssertEqual(code(r5), ErrorCode.invalidRequest)
            XCTAssertEqual(r5?["error"]?["message"], "server is shutting down")
            peer.notify("exit")
            XCTAssertEqual(peer.exitCode(), 0)
            XCTAssertEqual(h.notificationLog, ["initialized"], "only the one after initialize")
        }
    }

    func testExitWithoutShutdownIsOne() {
        let peer = TestPeer(handler: ToyHandler())
        peer.initialize()
        peer.notify("exit")
        XCTAssertEqual(peer.exitCode(), 1)
        let before = TestPeer(handler: ToyHandler())
        before.notify("exit")                          // exit is honoured even before initialize
        XCTAssertEqual(before.exitCode(), 1)
    }

    func testEOFEndsTheConnection() {
        let peer = TestPeer(handler: ToyHandler())
        peer.initialize()
        peer.request(1, "shutdown")
        XCTAssertNotNil(peer.reply(to: 1))
        peer.closeInput()
        XCTAssertEqual(peer.exitCode(), 0, "shutdown before EOF")
        let other = TestPeer(handler: ToyHandler())
        other.closeInput()
        XCTAssertEqual(other.exitCode(), 1)
    }

    func testShellPipelineGetsItsAnswersAfterEOF() {
        // printf '...initialize...\n...sleep...\n' | advlensd : input closes at once, output stays.
        let peer = TestPeer(handler: ToyHandler())
        peer.sendRaw("{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\"}\n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"sleep\",\"params\":{\"ms\":200}}")
        peer.closeInput()
        XCTAssertNotNil(peer.reply(to: 0)?["result"])
        XCTAssertEqual(peer.reply(to: 1)?["result"], ["slept": 200])
        XCTAssertEqual(peer.exitCode(), 1)
    }

    func testShutdownWaitsForEarlierRequests() {
        let peer = TestPeer(handler: ToyHandler())
        peer.initialize()
        peer.request(1, "sleep", ["ms": 200])
        peer.request(2, "shutdown")
        peer.request(3, "echo")
        let ids = peer.receive(count: 3).map { $0["id"] }
        XCTAssertEqual(ids, [3, 1, 2], "the refusal at once; shutdown answered after the sleep")
        peer.notify("exit")
        XCTAssertEqual(peer.exitCode(), 0)
    }

    func testOneLinerWithShutdownAndExitGetsEveryReply() {
        // printf 'initialize\nsleep\nshutdown\nexit\n' | advlensd
        let peer = TestPeer(handler: ToyHandler())
        peer.sendRaw([#"{"jsonrpc":"2.0","id":0,"method":"initialize"}"#, #"{"jsonrpc":"2.0","id":1,"method":"sleep","params":{"ms":150}}"#,
                      #"{"jsonrpc":"2.0","id":2,"method":"shutdown"}"#, #"{"jsonrpc":"2.0","method":"exit"}"#].joined(separator: "\n") + "\n")
        let replies = peer.receive(count: 3)
        XCTAssertEqual(replies.map { $0["id"] }, [0, 1, 2])
        XCTAssertEqual(replies[safe: 1]?["result"], ["slept": 150])
        XCTAssertEqual(peer.exitCode(), 0)
    }

    func testErrorsFromHandlers() {
        let peer = TestPeer(handler: ToyHandler())
        peer.initialize()
        peer.request(1, "nope")
        let r1 = peer.reply(to: 1)
        XCTAssertEqual(code(r1), ErrorCode.methodNotFound)
        XCTAssertEqual(r1?["error"]?["message"], "method not found: nope")
        peer.request(2, "fail", ["kind": "notFound"])
        XCTAssertEqual(peer.reply(to: 2)?["error"], ["code": -32001, "message": "model \"x\" not found"])
        peer.request(3, "fail", ["kind": "swift"])
        let r3 = peer.reply(to: 3)
        XCTAssertEqual(code(r3), ErrorCode.internalError)
        XCTAssertTrue(r3?["error"]?["message"]?.stringValue?.contains("boom") == true)
        peer.request(4, "typed", ["model": "m", "inputs": [["indices": [1, "2"]]]])
        XCTAssertEqual(peer.reply(to: 4)?["error"]?["message"], "params.inputs[0].indices[1]: expected an integer, got string")
        peer.request(5, "typed", ["model": "m", "inputs": [["indices": [1, 2]]], "zzz": 1])
        XCTAssertEqual(peer.reply(to: 5)?["error"]?["message"], "params.zzz: unknown field")
        peer.request(6, "typed", ["model": "m", "inputs": [["indices": [1, 2]]]])
        XCTAssertEqual(peer.reply(to: 6)?["result"], ["model": "m", "inputs": [["indices": [1, 2]]]])
    }

    func testInvalidMessages() {
        let peer = TestPeer(handler: ToyHandler())
        peer.initialize()
        peer.sendRaw("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"echo\",\"params\":{\"a\":}\n")
        let r = peer.receive()
        XCTAssertEqual(code(r), ErrorCode.parseError)
        XCTAssertEqual(r?["id"], 7, "id recovered from malformed JSON")
        XCTAssertTrue(r?["error"]?["message"]?.stringValue?.contains("at byte 54") == true, "\(String(describing: r))")
        peer.sendRaw("not json at all\n")
        XCTAssertEqual(peer.receive()?["id"], .null)
        peer.sendRaw("{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"echo\"}\n")
        let n = peer.receive()
        XCTAssertEqual(code(n), ErrorCode.invalidRequest)
        XCTAssertEqual(n?["id"], .null)
        peer.sendRaw("{\"id\":8,\"method\":\"echo\"}\n")
        XCTAssertEqual(peer.receive()?["id"], 8)
        peer.sendRaw("[]\n")
        XCTAssertEqual(code(peer.receive()), ErrorCode.invalidRequest)
        peer.sendRaw("{\"jsonrpc\":\"2.0\",\"id\":9,\"result\":1}\n")   // a response: ignored
        peer.request(10, "echo", [1])
        XCTAssertEqual(peer.receive()?["result"], [1], "array params pass through; nothing was sent for the response")
    }

    func testBatch() {
        let peer = TestPeer(handler: ToyHandler())
        peer.initialize()
        peer.sendRaw(#"[{"jsonrpc":"2.0","id":1,"method":"echo","params":{"a":1}},{"jsonrpc":"2.0","method":"note"},"# +
                     #"{"jsonrpc":"2.0","id":2,"method":"empty"},3,{"jsonrpc":"2.0","id":4,"method":"nope"},"# +
                     #"{"jsonrpc":"2.0","id":5,"method":"sleep","params":{"ms":30}}]"# + "\n")
        guard let batch = peer.receive()?.arrayValue else { return XCTFail("no batch reply") }
        XCTAssertEqual(batch.count, 5, "one per request and one per invalid element, none for the notification")
        XCTAssertEqual(batch[0], ["jsonrpc": "2.0", "id": 1, "result": ["a": 1]])
        XCTAssertEqual(batch[1]["result"], [:])
        XCTAssertEqual(code(batch[2]), ErrorCode.invalidRequest)
        XCTAssertEqual(code(batch[3]), ErrorCode.methodNotFound)
        XCTAssertEqual(batch[4]["result"], ["slept": 30])
        // A batch of notifications only gets no reply at all.
        peer.sendRaw(#"[{"jsonrpc":"2.0","method":"a"},{"jsonrpc":"2.0","method":"b"}]"# + "\n")
        peer.request(6, "empty")
        XCTAssertEqual(peer.receive()?["id"], 6)
    }

    func testReplyFramingMirrorsTheClient() {
        let peer = TestPeer(handler: ToyHandler(), framing: .contentLength)
        peer.request(0, "initialize")
        let raw = peer.receiveRawText()
        XCTAssertTrue(raw.hasPrefix("Content-Length: "), raw)
        let nd = TestPeer(handler: ToyHandler())
        nd.request(0, "initialize")
        let text = nd.receiveRawText()
        XCTAssertTrue(text.hasPrefix("{") && text.hasSuffix("}\n"), text)
    }

    func testProgressAndNotifications() {
        let peer = TestPeer(handler: ToyHandler())
        peer.initialize()
        peer.request(1, "progress", ["steps": 4, "ms": 60, "workDoneToken": "tok"])
        var notes: [JSONValue] = []
        XCTAssertEqual(peer.reply(to: 1, notifications: &notes)?["result"], ["steps": 4])
        let kinds = notes.compactMap { $0["params"]?["value"]?["kind"]?.stringValue }
        XCTAssertEqual(kinds, ["begin", "report", "report", "report", "report", "end"])
        XCTAssertEqual(notes.first?["method"], "$/progress")
        XCTAssertEqual(notes.first?["params"]?["token"], "tok")
        XCTAssertEqual(notes.first?["params"]?["value"], ["kind": "begin", "title": "working", "cancellable": true, "percentage": 0])
        XCTAssertEqual(notes[4]["params"]?["value"]?["percentage"], 100)
        // Without a token: no progress at all.
        peer.request(2, "progress", ["steps": 2, "ms": 1])
        var none: [JSONValue] = []
        XCTAssertNotNil(peer.reply(to: 2, notifications: &none))
        XCTAssertEqual(none, [])
        // Rate limit: 30 reports 2 ms apart collapse to a few.
        peer.request(3, "progress", ["steps": 30, "ms": 2, "workDoneToken": 9])
        var many: [JSONValue] = []
        XCTAssertNotNil(peer.reply(to: 3, notifications: &many))
        XCTAssertLessThan(many.count, 10)
        XCTAssertEqual(many.last?["params"]?["value"]?["kind"], "end")
        peer.request(4, "log")
        var logs: [JSONValue] = []
        XCTAssertNotNil(peer.reply(to: 4, notifications: &logs))
        XCTAssertEqual(logs, [["jsonrpc": "2.0", "method": "window/logMessage", "params": ["type": 3, "message": "hello"]]])
    }
}

extension Array {
    subscript(safe i: Int) -> Element? { indices.contains(i) ? self[i] : nil }
}

extension TestPeer {
    /// The raw text of what arrives next (one read), to check the reply framing itself.
    func receiveRawText(timeout: Double = 5) -> String {
        var p = pollfd(fd: fromServer, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, Int32(timeout * 1000)) > 0 else { return "" }
        var buf = [UInt8](repeating: 0, count: 65536)
        let n = read(fromServer, &buf, buf.count)
        return n > 0 ? String(decoding: buf[0..<n], as: UTF8.self) : ""
    }
}
