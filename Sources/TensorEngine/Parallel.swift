import CThreadPool
import Dispatch
import Foundation

/// Splits independent work over the machine's cores.
///
/// The engine does all of its own threading here: OpenBLAS runs single-threaded (see
/// `BLAS`), and large products are split into row or column blocks that run as tasks
/// beside each other. A convolution over a batch runs one task per group of images, each
/// task doing its own im2col, product and output scatter on one core, so nothing waits on
/// a second thread pool (OpenBLAS's spinning threads used to fight ours for the 2 cores).
///
/// Regions run on the spinning helpers of `CThreadPool` (the next region of a pass starts
/// without waking a sleeping thread), or on Dispatch when another region holds them.
/// Tasks are handed out dynamically (a shared counter), so a core stolen by another process
/// slows the region down rather than stalling half of it. Results must never depend on which
/// worker ran a task: callers that reduce across tasks do it in task order.
///
/// A region entered from inside another region runs serially on the calling thread.
public enum Parallel {
    /// Cores this process may use.
    public static let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)

    private static let workerLock = NSLock()
    nonisolated(unsafe) private static var workerCount = defaultWorkers

    /// OPENBLAS_NUM_THREADS when set to a positive number (it still means "threads a product
    /// runs on"), otherwise every core.
    static var defaultWorkers: Int {
        if let v = ProcessInfo.processInfo.environment["OPENBLAS_NUM_THREADS"], let n = Int(v), n > 0 { return n }
        return cores
    }

    /// Threads a parallel region (and a large matrix product) uses: OPENBLAS_NUM_THREADS or
    /// `cores` unless set with `BLAS.setThreads`.
    public static var workers: Int {
        get { workerLock.withLock { workerCount } }
        set { workerLock.withLock { workerCount = max(1, newValue) } }
    }

    /// Set on a thread while it runs a region's task.
    private static let regionKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// Whether the calling thread is running a task of a parallel region.
    public static var isInsideRegion: Bool { pthread_getspecific(regionKey) != nil }

    /// Workers a region of `tasks` tasks would use from this thread (1 inside a region).
    public static func workers(forTasks tasks: Int) -> Int {
        if tasks <= 1 || isInsideRegion { return 1 }
        return min(workers, tasks)
    }

    /// The next task to hand out (a lock rather than an atomic: tasks are large, and the
    /// Synchronization module's atomics need macOS 15).
    private final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var value = 0
        func next() -> Int { lock.withLock { let v = value; value += 1; return v } }
    }

    /// Runs `body(task, worker)` for every task in 0..<tasks, on up to `workers` threads
    /// (the calling thread included). `worker` lies in 0..<min(maxWorkers, workers(forTasks:
    /// tasks)) and no two calls with the same worker overlap, so it can index per-worker
    /// scratch memory prepared for `maxWorkers` workers.
    public static func forEachTask(_ tasks: Int, maxWorkers: Int = .max, _ body: (_ task: Int, _ worker: Int) -> Void) {
        let w = min(maxWorkers, workers(forTasks: tasks))
        if w <= 1 {
            for t in 0..<tasks { body(t, 0) }
            return
        }
        // The spinning pool first (`CThreadPool`: the next region starts without waking a
        // sleeping thread); Dispatch when another region holds it (a second request's).
        let ran = withoutActuallyEscaping(body) { body in
            var region = PoolRegion(body: body)
            return withUnsafeMutablePointer(to: &region) { advlens_pool_run(Int32(w), Int32(tasks), poolTask, $0) == 0 }
        }
        if ran { return }
        let counter = Counter()
        DispatchQueue.concurrentPerform(iterations: w) { worker in
            let previous = pthread_getspecific(regionKey)
            pthread_setspecific(regionKey, UnsafeRawPointer(bitPattern: 1))
            while true {
                let t = counter.next()
                if t >= tasks { break }
                body(t, worker)
            }
            pthread_setspecific(regionKey, previous)
        }
    }

    /// A region's body as the pool's C task function sees it (through its context pointer).
    private struct PoolRegion {
        let body: (_ task: Int, _ worker: Int) -> Void
    }

    /// The pool's task function: marks the thread as inside a region while the task runs.
    private static let poolTask: advlens_pool_task = { context, task, worker in
        let region = context!.assumingMemoryBound(to: PoolRegion.self)
        let previous = pthread_getspecific(Parallel.regionKey)
        pthread_setspecific(Parallel.regionKey, UnsafeRawPointer(bitPattern: 1))
        region.pointee.body(Int(task), Int(worker))
        pthread_setspecific(Parallel.regionKey, previous)
    }

    /// Calls `body(range)` on disjoint ranges covering 0..<count, in parallel when the work is
    /// large enough (`grain` = smallest count worth a thread).
    @inline(__always)
    public static func forRanges(_ count: Int, grain: Int = 1, _ body: (Range<Int>) -> Void) {
        let parts = min(workers(forTasks: count), max(1, count / max(grain, 1)))
        if parts <= 1 {
            if count > 0 { body(0..<count) }
            return
        }
        // A few ranges per worker, handed out dynamically, so a busy core delays less.
        let pieces = min(count / max(grain, 1), parts * 4)
        let step = (count + pieces - 1) / pieces
        forEachTask((count + step - 1) / step) { p, _ in
            let lo = p * step, hi = min(count, lo + step)
            if lo < hi { body(lo..<hi) }
        }
    }
}
