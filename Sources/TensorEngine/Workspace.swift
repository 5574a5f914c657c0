#if canImport(Glibc)
import Glibc
#endif

/// Scratch memory that only grows, reused across calls (im2col columns, transposed gradients).
///
/// One workspace belongs to one computation at a time (it is not shared between threads):
/// a forward or backward pass asks for numbered slots, and an attack or training loop passes
/// the same workspace to every iteration so the large buffers are allocated once. A parallel
/// kernel asks for all of its per-worker slots before its tasks start.
public final class Workspace {
    private var slots: [UnsafeMutableBufferPointer<Float>] = []

    public init() {
        Memory.configure()
    }

    deinit {
        for s in slots where s.baseAddress != nil { s.deallocate() }
    }

    /// A buffer of at least `count` floats in slot `slot`. Its contents are unspecified;
    /// it stays valid until the next call for the same slot with a larger count.
    public func buffer(_ slot: Int, count: Int) -> UnsafeMutablePointer<Float> {
        while slots.count <= slot { slots.append(UnsafeMutableBufferPointer(start: nil, count: 0)) }
        if slots[slot].count < count {
            if slots[slot].baseAddress != nil { slots[slot].deallocate() }
            // Grow by half again so slowly rising sizes do not reallocate every call.
            let size = max(count, slots[slot].count + slots[slot].count / 2)
            slots[slot] = UnsafeMutableBufferPointer<Float>.allocate(capacity: size)
        }
        return slots[slot].baseAddress!
    }

    /// Bytes currently held.
    public var bytes: Int { slots.reduce(0) { $0 + $1.count } * MemoryLayout<Float>.stride }
}
