import Foundation
import XCTest
@testable import RPC

/// Per-key reader-writer scheduling, observed through timestamps of jobs that sleep.
final class SchedulerTests: XCTestCase {
    final class Recorder: @unchecked Sendable {
        let lock = NSLock()
        var spans: [String: (Double, Double)] = [:]
        let group = DispatchGroup()
        func job(_ name: String, _ access: Access, ms: Double) -> Job {
            group.enter()
            return Job(locks: access.locks, label: name) { [self] in
                let s = now()
                usleep(UInt32(ms * 1000))
                lock.lock(); spans[name] = (s, now()); lock.unlock()
                group.leave()
            }
        }
        func wait(_ t: XCTestCase) { XCTAssertEqual(group.wait(timeout: .now() + 10), .success) }
        func span(_ n: String) -> (Double, Double) { lock.lock(); defer { lock.unlock() }; return spans[n]! }
    }

    func testReadersOverlapWriterWaitsAndBlocksLaterReaders() {
        let s = Scheduler(workers: 4)
        defer { s.stop() }
        let r = Recorder()
        s.submit(r.job("r1", .read("m"), ms: 150))
        s.submit(r.job("r2", .read("m"), ms: 150))
        usleep(20_000)
        s.submit(r.job("w", .write("m"), ms: 50))
        usleep(20_000)
        s.submit(r.job("r3", .read("m"), ms: 10))      // queued behind the waiting writer
        s.submit(r.job("other", .read("n"), ms: 10))   // another key is not held back
        r.wait(self)
        let r1 = r.span("r1"), r2 = r.span("r2"), w = r.span("w"), r3 = r.span("r3"), o = r.span("other")
        XCTAssertLessThan(max(r1.0, r2.0), min(r1.1, r2.1), "reads overlap")
        XCTAssertGreaterThanOrEqual(w.0, max(r1.1, r2.1), "write waits for reads")
        XCTAssertGreaterThanOrEqual(r3.0, w.1, "a later read waits for the waiting write")
        XCTAssertLessThan(o.1, w.0, "other keys run meanwhile")
    }

    func testMultiKeyAndWorkerBound() {
        let s = Scheduler(workers: 2)
        defer { s.stop() }
        let r = Recorder()
        s.submit(r.job("a", .writes(["x", "y"]), ms: 80))
        s.submit(r.job("b", .read("y"), ms: 10))
        s.submit(r.job("c", .concurrent, ms: 80))
        s.submit(r.job("d", .concurrent, ms: 10))
        r.wait(self)
        XCTAssertGreaterThanOrEqual(r.span("b").0, r.span("a").1)
        // Only two workers: d starts after a or c finished.
        XCTAssertGreaterThanOrEqual(r.span("d").0 + 0.001, min(r.span("a").1, r.span("c").1))
    }

    func testRemoveIfQueued() {
        let s = Scheduler(workers: 1)
        defer { s.stop() }
        let r = Recorder()
        s.submit(r.job("long", .concurrent, ms: 100))
        usleep(20_000)
        var ran = false
        let queued = Job(locks: [], label: "q") { ran = true }
        s.submit(queued)
        XCTAssertTrue(s.removeIfQueued(queued))
        XCTAssertFalse(s.removeIfQueued(queued))
        r.wait(self)
        usleep(20_000)
        XCTAssertFalse(ran)
        XCTAssertEqual(s.pendingCount, 0)
    }
}
