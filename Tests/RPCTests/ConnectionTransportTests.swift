import Foundation
import XCTest
import RPC

/// Malformed transport: every case gets an error reply or a clean close, never a crash or hang.
final class ConnectionTransportTests: XCTestCase {
    func code(_ m: JSONValue?) -> Int? { m?["error"]?["code"]?.intValue }
    let initialize = #"{"jsonrpc":"2.0","id":0,"method":"initialize"}"#

    func cl(_ body: String, length: Int? = nil) -> String { "Content-Length: \(length ?? body.utf8.count)\r\n\r\n\(body)" }

    func testContentLengthTooSmall() {
        let peer = TestPeer(handler: ToyHandler(), framing: .contentLength)
        peer.sendRaw(cl(initialize))
        XCTAssertNotNil(peer.reply(to: 0))
        let body = #"{"jsonrpc":"2.0","id":1,"method":"echo","params":[1]}"#
        peer.sendRaw(cl(body, length: body.utf8.count - 4) + cl(#"{"jsonrpc":"2.0","id":2,"method":"empty"}"#))
        let first = peer.receive(), second = peer.receive(), third = peer.receive()
        XCTAssertEqual(code(first), ErrorCode.parseError)
        XCTAssertEqual(first?["id"], 1, "id recovered from the truncated body")
        XCTAssertEqual(code(second), ErrorCode.parseError, "the spilled bytes")
        XCTAssertEqual(third?["id"], 2, "the next frame is read normally")
    }

    func testContentLengthTooLargeThenEOF() {
        let peer = TestPeer(handler: ToyHandler(), framing: .contentLength)
        peer.sendRaw(cl(initialize))
        XCTAssertNotNil(peer.reply(to: 0))
        peer.sendRaw(cl(#"{"jsonrpc":"2.0","id":1,"method":"empty"}"#, length: 500))
        XCTAssertNil(peer.receive(timeout: 0.2), "waits for the rest")
        peer.closeInput()
        XCTAssertEqual(peer.exitCode(), 1)
        XCTAssertTrue(peer.outputClosed())
    }

    func testFatalHeadersReplyThenClose() {
        for bad in ["Content-Length: -5\r\n\r\n{}", "Content-Length: twelve\r\n\r\n{}", "Content-Type: a\r\n\r\n{}",
                    "Content-Length: 2\r\nX: " + String(repeating: "y", count: 9000)] {
            let peer = TestPeer(handler: ToyHandler(), framing: .contentLength)
            peer.sendRaw(bad)
            let r = peer.receive()
            XCTAssertEqual(code(r), ErrorCode.parseError, bad)
            XCTAssertEqual(r?["id"], .null)
            XCTAssertTrue(r?["error"]?["message"]?.stringValue?.contains("closing the connection") == true)
            XCTAssertEqual(peer.exitCode(), 1, "closed without waiting for EOF")
        }
    }

    func testOversizedMessagesAreSkipped() {
        var options = TestPeer.defaultOptions
        options.maxMessageBytes = 1000
        let big = #"{"jsonrpc":"2.0","id":1,"method":"echo","params":[""# + String(repeating: "x", count: 5000) + #""]}"#
        for framing in [Framing.newlineDelimited, .contentLength] {
            let peer = TestPeer(handler: ToyHandler(), framing: framing, options: options)
            peer.initialize()
            peer.sendRaw(framing.frame(Array(big.utf8)))
            let r = peer.receive()
            XCTAssertEqual(code(r), ErrorCode.invalidRequest)
            XCTAssertTrue(r?["error"]?["message"]?.stringValue?.hasPrefix("message too large") == true, "\(String(describing: r))")
            peer.request(2, "echo", ["ok": true])
            XCTAssertEqual(peer.receive()?["result"], ["ok": true], "the stream continues after the skipped message")
        }
    }

    func testNonUTF8AndDeepNesting() {
        let peer = TestPeer(handler: ToyHandler())
        peer.initialize()
        var bad = Array(#"{"jsonrpc":"2.0","id":3,"method":"echo","params":[""#.utf8)
        bad += [0xC3, 0x28] + Array("\"]}\n".utf8)
        peer.sendRaw(bad)
        let r = peer.receive()
        XCTAssertEqual(code(r), ErrorCode.parseError)
        XCTAssertEqual(r?["id"], 3)
        XCTAssertTrue(r?["error"]?["message"]?.stringValue?.contains("invalid UTF-8") == true)
        peer.sendRaw(#"{"jsonrpc":"2.0","id":4,"method":"echo","params":"# + String(repeating: "[", count: 100_000) + "\n")
        let d = peer.receive()
        XCTAssertEqual(code(d), ErrorCode.parseError)
        XCTAssertEqual(d?["id"], 4)
        XCTAssertTrue(d?["error"]?["message"]?.stringValue?.contains("nesting") == true)
        peer.request(5, "empty")
        XCTAssertEqual(peer.receive()?["id"], 5)
    }

    func testTruncatedFrameAtEOF() {
        let peer = TestPeer(handler: ToyHandler(), framing: .contentLength)
        peer.sendRaw("Content-Len")
        peer.closeInput()
        XCTAssertEqual(peer.exitCode(), 1)
        let nd = TestPeer(handler: ToyHandler())
        nd.sendRaw(#"{"jsonrpc":"2.0","id":0,"method":"initia"#)   // final line without newline: parsed, fails
        nd.closeInput()
        XCTAssertEqual(code(nd.receive()), ErrorCode.parseError)
        XCTAssertEqual(nd.exitCode(), 1)
    }

    func testVanishedPeerCancelsAndReturnsOne() {
        let h = ToyHandler()
        let peer = TestPeer(handler: h)
        peer.initialize()
        peer.request(1, "sleep", ["ms": 100_000])
        XCTAssertTrue(h.waitUntilStarted(1))
        peer.vanish()
        // The timeout only guards against a hang; the span shows the work stopped early.
        XCTAssertEqual(peer.exitCode(timeout: 60), 1)
        let span = h.spans[1]
        XCTAssertNotNil(span, "the handler saw its token and returned")
        XCTAssertLessThan((span?.end ?? .infinity) - (span?.start ?? 0), 100, "in-flight work stopped, not run to its end")
    }

    func testOutputClosedWhileInputStaysOpen() {
        let h = ToyHandler()
        let peer = TestPeer(handler: h)
        peer.initialize()
        peer.request(1, "sleep", ["ms": 100_000])
        XCTAssertTrue(h.waitUntilStarted(1))
        peer.closeOutputOnly()
        peer.request(2, "empty")             // its reply hits EPIPE: the peer is gone
        XCTAssertEqual(peer.exitCode(timeout: 60), 1, "returns without waiting for EOF on input")
        XCTAssertNotNil(h.spans[1], "the running request was cancelled")
    }

    func testVanishedPeerGivesUpOnStuckWork() {
        var options = TestPeer.defaultOptions
        options.drainTimeout = 0.3
        let h = ToyHandler()
        let peer = TestPeer(handler: h, options: options)
        peer.initialize()
        peer.request(1, "stubborn", ["ms": 200_000])
        XCTAssertTrue(h.waitUntilStarted(1))
        peer.vanish()
        // Gives up after the 0.3 s drain timeout instead of waiting the handler's 200 s out
        // (the 60 s only guards against a hang).
        XCTAssertEqual(peer.exitCode(timeout: 60), 1, "bounded wait")
    }

    func testRandomGarbageNeverCrashesOrHangs() {
        var rng = SystemRandomNumberGenerator()
        for round in 0..<20 {
            let peer = TestPeer(handler: ToyHandler(), framing: round % 2 == 0 ? .newlineDelimited : .contentLength)
            var bytes = Array(peer.framing.frame(Array(initialize.utf8)))
            let alphabet = Array(#"{}[]":,0123456789.eE-+ \ntrufalsn"Content-Length: \r"#.utf8) + [0xFF, 0xC3]
            bytes += (0..<Int.random(in: 1...3000, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
            peer.sendRaw(bytes)
            peer.closeInput()
            XCTAssertNotNil(peer.exitCode(timeout: 5), "round \(round) hung")
        }
    }
}
