import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Process-wide allocator policy for tensor-sized arrays: freed memory is kept for the next
/// tensor while work runs, and handed back to the system once the process has been idle.
///
/// Why: glibc serves every block above its mmap threshold (128 KiB rising to at most 32 MiB)
/// with a fresh mapping and unmaps it on free, and gives each thread its own arena whose
/// blocks above 64 MiB are mapped the same way. A layer output allocated per call was then
/// fresh pages every time, and the kernel's page faults and zeroing took more time than the
/// arithmetic: half of a MobileNetV2-224 forward at batch 64 (activations of 100-300 MiB)
/// was system time. With one arena, no mapped blocks and no automatic trimming, a freed
/// tensor's pages become the next one's. The cost is memory held after a large request,
/// which `release()` returns: the daemon calls it after `releaseAfterIdle` seconds without
/// a running request (see `inUse`).
public enum Memory {
    /// Applies the allocator settings. The arena limit only binds threads that have not
    /// allocated yet, so the daemon calls this first thing in `main`; `Workspace.init` calls
    /// it too (tests, tools). Idempotent.
    public static func configure() { _ = configured }

    private static let configured: Bool = {
        #if canImport(Glibc)
        // mallopt is declared in <malloc.h>, which the Glibc module does not export.
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") {
            let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
            _ = mallopt(-8 /* M_ARENA_MAX */, 1)
            _ = mallopt(-4 /* M_MMAP_MAX */, 0)
            _ = mallopt(-1 /* M_TRIM_THRESHOLD */, Int32.max)
            _ = mallopt(-2 /* M_TOP_PAD */, 16 << 20)
        }
        #endif
        return true
    }()

    /// Hands the free memory the allocator holds back to the system (glibc's `malloc_trim`):
    /// whole free pages inside the heap are released and the heap's top is cut. Memory in use
    /// is untouched. Safe while other threads allocate.
    public static func release() {
        #if canImport(Glibc)
        typealias MallocTrim = @convention(c) (Int) -> Int32
        if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") {
            _ = unsafeBitCast(symbol, to: MallocTrim.self)(0)
        }
        #endif
    }

    private static let state = IdleState()

    /// Seconds without a running `inUse` body after which `release()` runs; nil: never.
    public static var releaseAfterIdle: Double? {
        get { state.withLock { $0.delay } }
        set { state.withLock { $0.delay = newValue } }
    }

    /// Runs `body` as work that allocates tensors (one request). When the last such body
    /// ends and none starts within `releaseAfterIdle` seconds, the held memory is released.
    public static func inUse<T>(_ body: () throws -> T) rethrows -> T {
        state.withLock { $0.running += 1; $0.generation &+= 1 }
        defer {
            let due: (UInt64, Double)? = state.withLock {
                $0.running -= 1
                guard $0.running == 0, let delay = $0.delay else { return nil }
                return ($0.generation, delay)
            }
            if let (generation, delay) = due {
                DispatchQueue.global(qos: .utility).asyncAfter(deadline: .now() + delay) {
                    // Released only if nothing ran since this body ended.
                    if state.withLock({ $0.running == 0 && $0.generation == generation }) { release() }
                }
            }
        }
        return try body()
    }

    /// How many `inUse` bodies run, and a count of their starts (to tell whether any started
    /// during a release's delay), under one lock.
    private final class IdleState: @unchecked Sendable {
        struct Fields { var running = 0; var generation: UInt64 = 0; var delay: Double? }
        private var fields = Fields()
        private let lock = NSLock()
        func withLock<R>(_ body: (inout Fields) -> R) -> R {
            lock.lock(); defer { lock.unlock() }
            return body(&fields)
        }
    }
}
