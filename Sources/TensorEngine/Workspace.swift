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

/// Process-wide allocator settings for tensor-sized arrays.
public enum Memory {
    /// glibc returns every freed block above 128 KiB-32 MiB (its adaptive mmap threshold)
    /// to the kernel and trims the heap top, so a layer output allocated per call was fresh
    /// pages every time: page faults and zeroing in the kernel took more time than the
    /// arithmetic (8 s of system time in an 11 s training run). Keeping blocks up to 32 MiB
    /// in the heap and never trimming makes a freed tensor's memory the next one's.
    /// Called by `Workspace.init` (every execution has one); idempotent.
    public static func configure() { _ = configured }

    private static let configured: Bool = {
        #if canImport(Glibc)
        // mallopt is declared in <malloc.h>, which the Glibc module does not export.
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") {
            let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
            _ = mallopt(-3 /* M_MMAP_THRESHOLD */, 32 << 20)
            _ = mallopt(-1 /* M_TRIM_THRESHOLD */, Int32.max)
            _ = mallopt(-2 /* M_TOP_PAD */, 16 << 20)
        }
        #endif
        return true
    }()
}
