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

    func testCancelRunningRequestWithin100ms() {
        let (peer, _) = ready()
        peer.request(1, "sleep", ["ms": 10_000])
        usleep(100_000)
        let t0 = now()
        peer.cancel(1)
        let r = peer.reply(to: 1)
        let latency = now() - t0
        XCTAssertEqual(code(r), ErrorCode.requestCancelled)
        XCTAssertNotNil(r?["error"]?["data"]?["slept"]?.doubleValue, "partial result in error.data")
        XCTAssertLessThan(latency, 0.1, "cancel answered in \(latency * 1000) ms")
        print("cancel latency: \(String(format: "%.2f", latency * 1000)) ms")
    }

    func testCancelWhileWaitingForLockAnswersAtOnceWithoutRunning() {
        let (peer, h) = ready()
        peer.request(1, "sleep", ["ms": 400, "key": "k", "write": true])
        usleep(30_000)
        peer.request(2, "sleep", ["ms": 10, "key": "k"])
        usleep(30_000)
        let t0 = now()
        peer.cancel(2)
        let r = peer.reply(to: 2)
        XCTAssertEqual(code(r), ErrorCode.requestCancelled)
        XCTAssertLessThan(now() - t0, 0.1)
        XCTAssertNotNil(peer.reply(to: 1)?["result"])
        usleep(50_000)
        XCTAssertNil(h.spans[2], "never ran")
    }

    func testHandlerIgnoringCancelSendsItsResult() {
        let (peer, _) = ready()
        peer.request(1, "stubborn", ["ms": 100])
        usleep(20_000)
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
        peer.request(1, "sleep", ["ms": 10_000])
        usleep(50_000)
        let t0 = now()
        peer.notify("exit")
        XCTAssertEqual(peer.exitCode(timeout: 3), 1)
        XCTAssertLessThan(now() - t0, 1)
        XCTAssertNotNil(h.spans[1])
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
