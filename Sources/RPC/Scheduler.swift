import Foundation

/// A unit of work waiting for its key locks and a worker.
final class Job: @unchecked Sendable {
    enum State { case queued, running, finished, removed }
    let locks: [KeyLock]
    let body: () -> Void
    let label: String
    /// Guarded by the scheduler's lock.
    var state = State.queued

    init(locks: [KeyLock], label: String, body: @escaping () -> Void) {
        self.locks = locks; self.label = label; self.body = body
    }
}

/// A fixed pool of worker threads plus per-key reader-writer scheduling.
///
/// Handlers are long synchronous CPU work (BLAS, attack loops), so they run on dedicated
/// threads rather than Swift's cooperative pool, which they would starve. One mutex guards the
/// queue and the lock table; a job starts only when a worker is free and every one of its
/// locks can be taken at once (all or nothing, so no deadlock). Fairness: jobs are considered
/// in arrival order, and a job may not overtake an earlier waiting job that conflicts with it
/// on a key — which makes writers preferred (a reader queued after a waiting writer waits)
/// and keeps writers first-come first-served. The socket server shares one scheduler among
/// its clients, so a write on "model:x" waits for reads from every client.
final class Scheduler: @unchecked Sendable {
    private let cond = NSCondition()
    private var queue: [Job] = []
    private var head = 0
    private var readers: [String: Int] = [:]
    private var writers: Set<String> = []
    private var stopping = false
    private var idleWorkers = 0
    let workerCount: Int

    init(workers: Int, name: String = "rpc-worker") {
        workerCount = max(1, workers)
        for k in 0..<workerCount {
            let t = Thread { [self] in workerLoop() }
            t.name = "\(name)-\(k)"
            t.stackSize = 8 << 20
            t.start()
        }
    }

    /// Queues a job; it runs when a worker is free and its locks are available.
    func submit(_ job: Job) {
        cond.lock()
        queue.append(job)
        cond.signal()
        cond.unlock()
    }

    /// Removes a job that has not started; false when it already runs or ran.
    func removeIfQueued(_ job: Job) -> Bool {
        cond.lock(); defer { cond.unlock() }
        guard job.state == .queued else { return false }
        job.state = .removed
        if let i = queue[head...].firstIndex(where: { $0 === job }) { queue.remove(at: i) }
        cond.broadcast()   // a waiting job may have been held back only by this one
        return true
    }

    /// Lets workers exit once the queue is empty. Running jobs finish on their own.
    func stop() {
        cond.lock()
        stopping = true
        cond.broadcast()
        cond.unlock()
    }

    /// Jobs waiting plus jobs running (for tests and diagnostics).
    var pendingCount: Int {
        cond.lock(); defer { cond.unlock() }
        return queue.count - head
    }

    private func workerLoop() {
        cond.lock()
        while true {
            if let job = takeRunnable() {
                job.state = .running
                for l in job.locks {
                    if l.exclusive { writers.insert(l.key) } else { readers[l.key, default: 0] += 1 }
                }
                cond.unlock()
                job.body()
                cond.lock()
                for l in job.locks {
                    if l.exclusive { writers.remove(l.key) } else {
                        let n = readers[l.key]! - 1
                        readers[l.key] = n == 0 ? nil : n
                    }
                }
                job.state = .finished
                if !job.locks.isEmpty { cond.broadcast() }
                continue
            }
            if stopping && head == queue.count { break }
            idleWorkers += 1
            cond.wait()
            idleWorkers -= 1
        }
        cond.unlock()
    }

    /// The first job in arrival order that may start now, removed from the queue. Called with
    /// the lock held. Keys blocked by earlier waiting jobs are collected while scanning.
    private func takeRunnable() -> Job? {
        var heldForReaders: Set<String> = []   // an earlier waiting job writes these keys
        var heldForWriters: Set<String> = []   // an earlier waiting job uses these keys at all
        var i = head
        while i < queue.count {
            let job = queue[i]
            var ok = true
            for l in job.locks {
                if l.exclusive {
                    if writers.contains(l.key) || readers[l.key] != nil || heldForWriters.contains(l.key) { ok = false; break }
                } else {
                    if writers.contains(l.key) || heldForReaders.contains(l.key) { ok = false; break }
                }
            }
            if ok {
                if i == head {
                    head += 1
                    // Drop finished references promptly: their closures hold request state.
                    if head == queue.count { queue.removeAll(keepingCapacity: true); head = 0 }
                    else if head > 1024 && head * 2 > queue.count { queue.removeSubrange(0..<head); head = 0 }
                } else {
                    queue.remove(at: i)
                }
                return job
            }
            for l in job.locks {
                heldForWriters.insert(l.key)
                if l.exclusive { heldForReaders.insert(l.key) }
            }
            i += 1
        }
        return nil
    }
}
