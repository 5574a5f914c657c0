import Foundation
import XCTest
import RPC

/// Scheduling and cancellation through a real connection.
final class ConnectionConcurrencyTests: XCTestCase {
    func code(_ m: JSONValue?) -> Int? { m?["error"]?["code"]?.intValue }

    func ready() -> (TestPeer, ToyHandler) {
        let h = ToyHandler()
        let peer = TestPeer(handler: h)
        peer.initialize()
        return (peer, h)
    }

    func testRepliesOutOfOrder() {
        let (peer, _) = ready()
        peer.request(1, "sleep", ["ms": 300])
        peer.request(2, "sleep", ["ms": 10])
        peer.request(3, "empty")
        let ids = peer.receive(count: 3).map { $0["id"] }
        XCTAssertEqual(ids, [3, 2, 1])
    }

    func testReadsOverlapWriteWaitsAndBlocksNewReads() {
        let (peer, h) = ready()
        peer.request(1, "sleep", ["ms": 200, "key": "model:a"])
        peer.request(2, "sleep", ["ms": 200, "key": "model:a"])
        usleep(30_000)
        peer.request(3, "sleep", ["ms": 50, "key": "model:a", "write": true])
        usleep(30_000)
        peer.request(4, "sleep", ["ms": 10, "key": "model:a"])
        XCTAssertEqual(peer.receive(count: 4, timeout: 5).count, 4)
        let s = h.spans
        guard let r1 = s[1], let r2 = s[2], let w = s[3], let r4 = s[4] else { return XCTFail("missing spans \(s)") }
        XCTAssertLessThan(max(r1.start, r2.start), min(r1.end, r2.end), "two reads overlap")
        XCTAssertGreaterThanOrEqual(w.start, max(r1.end, r2.end), "the write waited for both reads")
        XCTAssertGreaterThanOrEqual(r4.start, w.end, "a read arriving after the waiting write ran after it")
    }

    /// Cancelled once it runs, a 100 s request stops early with its partial result (how fast a
    /// cancel is answered is the benchmarks' business; the latency is printed).
    func testCancelStopsARunningRequest() {
        let (peer, h) = ready()
        peer.request(1, "sleep", ["ms": 100_000])
        XCTAssertTrue(h.waitUntilStarted(1))
        let t0 = now()
        peer.cancel(1)
        let r = peer.reply(to: 1, timeout: 600)
        let latency = now() - t0
        XCTAssertEqual(code(r), ErrorCode.requestCancelled)
        let slept = r?["error"]?["data"]?["slept"]?.doubleValue
        XCTAssertNotNil(slept, "partial result in error.data")
        XCTAssertLessThan(slept ?? .infinity, 100_000, "stopped before the end")
        print("cancel latency: \(String(format: "%.2f", latency * 1000)) ms")
    }

    /// A request waiting for a lock is answered as soon as it is cancelled, while the holder
    /// still runs, and never runs itself.
    func testCancelWhileWaitingForLockAnswersAtOnceWithoutRunning() {
        let (peer, h) = ready()
        peer.request(1, "sleep", ["ms": 100_000, "key": "k", "write": true])
        XCTAssertTrue(h.waitUntilStarted(1))
        peer.request(2, "sleep", ["ms": 10, "key": "k"])
        peer.cancel(2)
        let r = peer.reply(to: 2, timeout: 600)
        XCTAssertEqual(code(r), ErrorCode.requestCancelled)
        XCTAssertNil(h.spans[1], "answered while the write still held the lock")
        peer.cancel(1)
        XCTAssertEqual(code(peer.reply(to: 1, timeout: 600)), ErrorCode.requestCancelled)
        XCTAssertNil(h.spans[2], "never ran")
    }

    func testHandlerIgnoringCancelSendsItsResult() {
        let (peer, h) = ready()
        peer.request(1, "stubborn", ["ms": 100])
        XCTAssertTrue(h.waitUntilStarted(1))
        peer.cancel(1)
        XCTAssertEqual(peer.reply(to: 1)?["result"], ["done": true])
        peer.cancel(99)    // unknown ids are ignored
        peer.request(2, "empty")
        XCTAssertEqual(peer.reply(to: 2)?["result"], [:])
    }

    func testDuplicateIdInFlight() {
        let (peer, _) = ready()
        peer.request(1, "sleep", ["ms": 200])
        peer.request(1, "echo", [1])
        let dup = peer.receive()
        XCTAssertEqual(dup?["id"], 1)
        XCTAssertEqual(code(dup), ErrorCode.invalidRequest)
        XCTAssertTrue(dup?["error"]?["message"]?.stringValue?.contains("duplicate id") == true)
        XCTAssertEqual(peer.receive()?["result"], ["slept": 200], "the first keeps running")
        peer.request(1, "echo", [2])
        XCTAssertEqual(peer.receive()?["result"], [2], "the id is free again once answered")
    }

    func testExitCancelsInFlight() {
        let (peer, h) = ready()
        peer.request(1, "sleep", ["ms": 100_000])
        XCTAssertTrue(h.waitUntilStarted(1))
        peer.notify("exit")
        // Returns once the cancelled handler stops, long before its 100 s (the timeout only
        // guards against a hang).
        XCTAssertEqual(peer.exitCode(timeout: 60), 1)
        let span = h.spans[1]
        XCTAssertNotNil(span)
        XCTAssertLessThan((span?.end ?? .infinity) - (span?.start ?? 0), 100, "the handler was cancelled, not run to its end")
        XCTAssertNil(peer.receive(timeout: 0.2), "reply dropped after exit")
    }

    func testManyConcurrentRequests() {
        let (peer, _) = ready()
        for i in 1...500 { peer.request(i, i % 3 == 0 ? "empty" : "echo", [JSONValue(i)]) }
        let replies = peer.receive(count: 500, timeout: 10)
        XCTAssertEqual(Set(replies.compactMap { $0["id"]?.intValue }), Set(1...500))
        XCTAssertTrue(replies.allSatisfy { $0["error"] == nil })
    }
}
