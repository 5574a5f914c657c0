import XCTest
@testable import RPC

/// The framing state machine fed byte by byte and in random chunkings: every split of the
/// stream must produce the same events.
final class FramingTests: XCTestCase {
    /// Feeds `stream` in chunks of the given sizes (cycled) and collects every event.
    func events(_ stream: [UInt8], chunks: [Int], max: Int = 1 << 20, eof: Bool = true) -> [FrameEvent] {
        var d = FrameDecoder(maxMessageBytes: max)
        var out: [FrameEvent] = []
        var k = 0, c = 0
        while k < stream.count {
            let n = Swift.min(chunks[c % chunks.count], stream.count - k)
            d.push(Array(stream[k..<k + n]))
            k += n; c += 1
            while let e = d.next() { out.append(e.normalised) }
        }
        if eof, let e = d.finish() { out.append(e.normalised) }
        return out
    }

    /// The same events whatever the chunking: whole, byte by byte, and 50 random splits.
    func assertEvents(_ text: String, _ expected: [FrameEvent], max: Int = 1 << 20, file: StaticString = #filePath, line: UInt = #line) {
        let bytes = Array(text.utf8)
        XCTAssertEqual(events(bytes, chunks: [bytes.count + 1], max: max), expected, "whole", file: file, line: line)
        XCTAssertEqual(events(bytes, chunks: [1], max: max), expected, "byte by byte", file: file, line: line)
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<50 {
            let sizes = (0..<8).map { _ in Int.random(in: 1...7, using: &rng) }
            XCTAssertEqual(events(bytes, chunks: sizes, max: max), expected, "chunks \(sizes)", file: file, line: line)
        }
    }

    func msg(_ s: String) -> FrameEvent { .message(ArraySlice(s.utf8)) }
    func cl(_ body: String, extra: String = "") -> String { "Content-Length: \(body.utf8.count)\r\n\(extra)\r\n\(body)" }

    func testNewlineDelimited() {
        assertEvents("{\"a\":1}\n{\"b\":2}\n", [msg("{\"a\":1}"), msg("{\"b\":2}")])
        assertEvents("\n\n  {\"a\":1}\r\n\n \t\n[1]\n", [msg("{\"a\":1}"), msg("[1]")])   // blank lines, CRLF
        assertEvents("{\"a\":1}", [msg("{\"a\":1}")])                                     // last line without newline
        assertEvents("hello\n", [msg("hello")])                                           // not JSON: parse error later
        assertEvents("{\"s\":\"é😀\"}\n", [msg("{\"s\":\"é😀\"}")])
    }

    func testContentLength() {
        let a = #"{"jsonrpc":"2.0","id":1,"method":"m"}"#, b = #"{"x":"é"}"#
        assertEvents(cl(a) + cl(b), [msg(a), msg(b)])
        assertEvents(cl(a, extra: "Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n"), [msg(a)])
        assertEvents("content-length: 2\r\n\r\n{}CONTENT-LENGTH:  2 \r\n\r\n[]", [msg("{}"), msg("[]")])
        assertEvents("\r\n" + cl(a) + "\r\n" + cl(b), [msg(a), msg(b)])                   // stray CRLF between frames
        assertEvents("Content-Length: 2\n\n{}", [msg("{}")])                              // bare LF tolerated
        assertEvents("Content-Length: 0\r\n\r\n", [msg("")])
    }

    func testContentLengthTooSmallGivesGarbageThenRecovers() {
        // Declared 5, sent 7: "{}" spills into the next header block.
        let stream = "Content-Length: 5\r\n\r\n{\"a\":1}" + cl("[2]")
        let ev = events(Array(stream.utf8), chunks: [1])
        XCTAssertEqual(ev.count, 3)
        XCTAssertEqual(ev[0], msg("{\"a\":"))
        guard case .garbage = ev[1] else { return XCTFail("\(ev)") }
        XCTAssertEqual(ev[2], msg("[2]"))
    }

    func testContentLengthTooLargeWaitsThenEOFLeavesPartialFrame() {
        var d = FrameDecoder()
        d.push(Array("Content-Length: 100\r\n\r\n{}".utf8))
        XCTAssertNil(d.next())
        XCTAssertNil(d.finish())
        XCTAssertTrue(d.hasPartialFrame)
    }

    /// A bare JSON line between Content-Length frames is a message; one with no newline within
    /// the message limit is fatal whatever the chunking (the fuzzer found the first version of
    /// this deciding differently by chunk: tooLarge whole, fatal in pieces).
    func testBareJSONLinesInContentLengthFraming() {
        let first = #"{"jsonrpc":"2.0","id":1,"method":"x"}"#
        let lone = #"{"jsonrpc":"2.0","id":7,"method":"model/list"}"#
        assertEvents(cl(first) + lone + "\n" + cl(first), [msg(first), msg(lone), msg(first)])
        let long = "[" + String(repeating: "[", count: 300)
        let events = events(Array((cl(first) + long + "\n" + cl(first)).utf8), chunks: [1], max: 200)
        XCTAssertEqual(events.count, 2)
        XCTAssertEqual(events.first, msg(first))
        if case .fatal = events.last {} else { XCTFail("a JSON line past the limit without a newline is fatal: \(events)") }
        let whole = self.events(Array((cl(first) + long + "\n" + cl(first)).utf8), chunks: [10_000], max: 200)
        XCTAssertEqual(whole.count, events.count, "the same whatever the chunking")
    }

    func testFatalHeaders() {
        for bad in ["Content-Length: -1\r\n\r\n{}", "Content-Length: abc\r\n\r\n{}", "Content-Type: x\r\n\r\n{}",
                    "Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}", "Content-Length 2\r\n\r\n{}",
                    "Content-Length: 99999999999999999999999\r\n\r\n"] {
            let ev = events(Array(bad.utf8), chunks: [1])
            XCTAssertEqual(ev.count, 1, bad)
            guard case .fatal = ev.first else { return XCTFail("\(bad): \(ev)") }
        }
        // A header block over 8 KiB never finishing.
        var d = FrameDecoder()
        d.push(Array(("Content-Length: 2\r\nX-Pad: " + String(repeating: "a", count: 9000)).utf8))
        guard case .fatal(let why)? = d.next() else { return XCTFail() }
        XCTAssertTrue(why.contains("8192"))
        d.push(Array("\r\n\r\n{}".utf8))
        XCTAssertNil(d.next(), "nothing after a fatal error")
    }

    func testOversizedContentLengthIsSkippedExactly() {
        let big = String(repeating: "x", count: 100)
        let stream = "Content-Length: 100\r\n\r\n" + big + cl("{}")
        assertEvents(stream, [.tooLarge(100), msg("{}")], max: 50)
    }

    func testOversizedLineIsSkipped() {
        let big = "[" + String(repeating: "1,", count: 60) + "1]"
        let ev = events(Array((big + "\n{}\n").utf8), chunks: [1], max: 50)
        XCTAssertEqual(ev.count, 2)
        guard case .tooLarge(let n) = ev[0] else { return XCTFail("\(ev)") }
        XCTAssertGreaterThan(n, 50)
        XCTAssertEqual(ev[1], msg("{}"))
        // Whole in one chunk: the exact length is known.
        XCTAssertEqual(events(Array((big + "\n{}\n").utf8), chunks: [10_000], max: 50), [.tooLarge(big.utf8.count), msg("{}")])
    }

    func testFramingDetection() {
        var d = FrameDecoder()
        d.push(Array("  \n".utf8))
        XCTAssertNil(d.next())
        XCTAssertNil(d.framing)
        d.push(Array("C".utf8))
        XCTAssertNil(d.next())
        XCTAssertEqual(d.framing, .contentLength)
        var n = FrameDecoder()
        n.push(Array("[".utf8))
        _ = n.next()
        XCTAssertEqual(n.framing, .newlineDelimited)
    }

    func testEncoding() {
        XCTAssertEqual(String(decoding: Framing.contentLength.frame(Array("{}".utf8)), as: UTF8.self), "Content-Length: 2\r\n\r\n{}")
        XCTAssertEqual(String(decoding: Framing.newlineDelimited.frame(Array("{}".utf8)), as: UTF8.self), "{}\n")
    }

    func testManyMessagesStayLinear() {
        // 20k messages fed in 3-byte chunks all come out (the scans resume, so this is quick;
        // speed itself is measured by bench/daemon_bench.py, not asserted here).
        let one = cl(#"{"jsonrpc":"2.0","method":"x"}"#)
        let stream = Array(String(repeating: one, count: 20_000).utf8)
        XCTAssertEqual(events(stream, chunks: [3]).count, 20_000)
    }
}

extension FrameEvent {
    /// Slices compare by content, but normalise indices for readable failure output.
    var normalised: FrameEvent {
        if case .message(let m) = self { return .message(ArraySlice(Array(m))) }
        return self
    }
}
