import Dispatch
import Foundation

/// Splits independent work over the machine's cores (memory-bound kernels such as im2col,
/// pooling and elementwise maps; BLAS threads itself).
public enum Parallel {
    /// Cores to use for non-BLAS kernels.
    public static let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// Calls `body(range)` on disjoint ranges covering 0..<count, in parallel when the work is
    /// large enough (`grain` = smallest count worth a thread).
    @inline(__always)
    public static func forRanges(_ count: Int, grain: Int = 1, _ body: (Range<Int>) -> Void) {
        let parts = min(cores, max(1, count / max(grain, 1)))
        if parts <= 1 {
            if count > 0 { body(0..<count) }
            return
        }
        let step = (count + parts - 1) / parts
        DispatchQueue.concurrentPerform(iterations: parts) { p in
            let lo = p * step, hi = min(count, lo + step)
            if lo < hi { body(lo..<hi) }
        }
    }
}
