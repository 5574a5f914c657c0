import Foundation

#if os(Linux)
/// glibc's malloc_trim (malloc.h, which the Glibc module does not bring in).
@_silgen_name("malloc_trim") private func glibcMallocTrim(_ pad: Int) -> Int32
#endif

/// Hands freed memory back to the system after a large message: glibc keeps the pages of a
/// 50 MB request's buffers in its heap otherwise, so one big refused request left the daemon's
/// resident size hundreds of MB up for good. Calls coalesce, and the trim runs a moment later,
/// once the request's own references are gone.
enum MemoryTrimmer {
    /// Messages at least this large trigger a trim when they are done with.
    static let threshold = 1 << 20
    private static let lock = NSLock()
    nonisolated(unsafe) private static var scheduled = false

    static func soon() {
        lock.lock()
        defer { lock.unlock() }
        guard !scheduled else { return }
        scheduled = true
        DispatchQueue.global(qos: .utility).asyncAfter(deadline: .now() + 0.05) {
            lock.withLock { scheduled = false }
            #if os(Linux)
            _ = glibcMallocTrim(0)
            #endif
        }
    }
}
