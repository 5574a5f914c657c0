import Foundation
import XCTest
@testable import RPC

/// Per-key reader-writer scheduling, observed through timestamps of jobs that sleep or that
/// hold until the test releases them (`gate`), so that what overlaps is decided by the test,
/// never by how fast the machine runs it.
final class SchedulerTests: XCTestCase {
    final class Recorder: @unchecked Sendable {
        let lock = NSLock()
        var spans: [String: (Double, Double)] = [:]
        var startedJobs: Set<String> = []
        let group = DispatchGroup()
        /// A job that sleeps `ms`, or (with `gate`) holds until the gate is signalled.
        func job(_ name: String, _ access: Access, ms: Double = 0, gate: DispatchSemaphore? = nil) -> Job {
            group.enter()
            return Job(locks: access.locks, label: name) { [self] in
                let s = now()
                lock.lock(); startedJobs.insert(name); lock.unlock()
                if let gate { gate.wait() } else { usleep(UInt32(ms * 1000)) }
                lock.lock(); spans[name] = (s, now()); lock.unlock()
                group.leave()
            }
        }
        func started(_ name: String) -> Bool { lock.lock(); defer { lock.unlock() }; return startedJobs.contains(name) }
        func finished(_ name: String) -> Bool { lock.lock(); defer { lock.unlock() }; return spans[name] != nil }
        /// Waits until `condition` holds (a hang guard of 600 s, far above any machine's time).
        func waitUntil(_ condition: () -> Bool) -> Bool {
            let deadline = now() + 600
            while !condition() { if now() > deadline { return false }; usleep(1000) }
            return true
        }
        func wait(_ t: XCTestCase) { XCTAssertEqual(group.wait(timeout: .now() + 600), .success) }
        func span(_ n: String) -> (Double, Double) { lock.lock(); defer { lock.unlock() }; return spans[n]! }
    }

    func testReadersOverlapWriterWaitsAndBlocksLaterReaders() {
        let s = Scheduler(workers: 4)
        defer { s.stop() }
        let r = Recorder()
        let reads = DispatchSemaphore(value: 0)
        s.submit(r.job("r1", .read("m"), gate: reads))
        s.submit(r.job("r2", .read("m"), gate: reads))
        XCTAssertTrue(r.waitUntil { r.started("r1") && r.started("r2") }, "reads overlap: both run at once")
        s.submit(r.job("w", .write("m"), ms: 5))
        s.submit(r.job("r3", .read("m"), ms: 5))      // queued behind the waiting writer
        s.submit(r.job("other", .read("n"), ms: 5))   // another key is not held back
        XCTAssertTrue(r.waitUntil { r.finished("other") }, "other keys run meanwhile")
        XCTAssertFalse(r.started("w"), "the write waits while the reads hold the key")
        XCTAssertFalse(r.started("r3"), "a later read waits behind the waiting write")
        reads.signal()
        reads.signal()
        r.wait(self)
        let r1 = r.span("r1"), r2 = r.span("r2"), w = r.span("w"), r3 = r.span("r3")
        XCTAssertGreaterThanOrEqual(w.0, max(r1.1, r2.1), "write waits for reads")
        XCTAssertGreaterThanOrEqual(r3.0, w.1, "a later read waits for the waiting write")
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
        let gate = DispatchSemaphore(value: 0)
        s.submit(r.job("long", .concurrent, gate: gate))   // holds the only worker until released
        XCTAssertTrue(r.waitUntil { r.started("long") })
        var ran = false
        let queued = Job(locks: [], label: "q") { ran = true }
        s.submit(queued)
        XCTAssertTrue(s.removeIfQueued(queued))
        XCTAssertFalse(s.removeIfQueued(queued))
        gate.signal()
        r.wait(self)
        // Anything still queued would run on the freed worker: a job submitted after it runs
        // after it, so once this one has run, the removed job had its chance.
        let after = r.job("after", .concurrent)
        s.submit(after)
        r.wait(self)
        XCTAssertFalse(ran)
        XCTAssertEqual(s.pendingCount, 0)
    }
}
