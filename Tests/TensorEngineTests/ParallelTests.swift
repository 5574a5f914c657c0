import Foundation
import XCTest
@testable import TensorEngine

/// `Parallel.forEachTask` on the spinning pool (`CThreadPool`) and on Dispatch when the pool is
/// held: every task runs exactly once, a worker index is never in use by two tasks at once and
/// stays below the region's worker count, a region inside a task runs serially on that thread,
/// and regions started from two threads at once (one takes the pool, the other falls back)
/// both complete. Many short regions in a row exercise the helpers' spin-then-sleep hand-off.
final class ParallelTests: XCTestCase {
    /// Runs one region and checks it; returns the workers that ran tasks.
    @discardableResult
    func checkedRegion(tasks: Int, sleepEvery: Int = 0) -> Set<Int> {
        let lock = NSLock()
        var runs = [Int](repeating: 0, count: tasks)
        var busy = [Bool](repeating: false, count: 64)
        var seen = Set<Int>()
        var overlaps = 0
        let workers = Parallel.workers(forTasks: tasks)
        Parallel.forEachTask(tasks) { t, w in
            lock.withLock {
                runs[t] += 1
                if busy[w] { overlaps += 1 }
                busy[w] = true
                seen.insert(w)
            }
            XCTAssertTrue(Parallel.isInsideRegion || workers == 1)
            if sleepEvery > 0 && t % sleepEvery == 0 { usleep(200) }
            lock.withLock { busy[w] = false }
        }
        XCTAssertEqual(runs, [Int](repeating: 1, count: tasks), "every task once")
        XCTAssertEqual(overlaps, 0, "a worker index in use by two tasks")
        XCTAssertTrue(seen.allSatisfy { $0 >= 0 && $0 < max(workers, 1) }, "workers \(seen) of \(workers)")
        XCTAssertFalse(Parallel.isInsideRegion, "the caller is outside a region afterwards")
        return seen
    }

    func testEveryTaskRunsOnceOnDistinctWorkers() {
        for tasks in [1, 2, 3, 17, 1000] { checkedRegion(tasks: tasks, sleepEvery: 7) }
        // Short regions back to back (helpers still spinning) and after a pause (helpers asleep).
        for _ in 0..<2000 { checkedRegion(tasks: 4) }
        usleep(5000)
        checkedRegion(tasks: 64, sleepEvery: 1)
    }

    /// With two workers, a second one takes tasks: the first task waits (up to a minute, so a
    /// busy or slow machine only delays it) until a task runs on a different worker.
    func testASecondWorkerTakesTasks() throws {
        try XCTSkipIf(Parallel.workers < 2, "one worker")
        let lock = NSLock()
        var workersSeen = Set<Int>()
        var firstWorker = -1
        Parallel.forEachTask(2) { t, w in
            lock.withLock { workersSeen.insert(w); if t == 0 { firstWorker = w } }
            guard t == 0 else { return }
            let deadline = Date().addingTimeInterval(60)
            while lock.withLock({ workersSeen.count < 2 }) && Date() < deadline { usleep(100) }
        }
        XCTAssertEqual(workersSeen.count, 2, "task 0 ran on worker \(firstWorker) and no other worker took task 1")
    }

    func testARegionInsideATaskRunsSeriallyOnItsThread() {
        let lock = NSLock()
        var inner: [Int] = []
        Parallel.forEachTask(8) { _, _ in
            let thread = pthread_self()
            Parallel.forEachTask(5) { t, w in
                XCTAssertEqual(w, 0)
                XCTAssertTrue(pthread_equal(thread, pthread_self()) != 0)
                lock.withLock { inner.append(t) }
            }
        }
        XCTAssertEqual(inner.count, 40)
    }

    func testRegionsFromTwoThreadsAtOnceAllComplete() {
        let done = DispatchGroup()
        for _ in 0..<2 {
            DispatchQueue.global().async(group: done) {
                for i in 0..<300 { self.checkedRegion(tasks: 3 + i % 20) }
            }
        }
        XCTAssertEqual(done.wait(timeout: .now() + 120), .success)
    }
}
