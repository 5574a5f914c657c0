import Foundation

/// Set when the client sends `$/cancelRequest` for a request, when the connection ends, or when
/// the server stops (then with a reason, which the -32800 reply's message carries).
///
/// Handlers are long synchronous loops (attack iterations, training steps), so cancellation is
/// cooperative: they call `checkCancelled()` between iterations. Reading is a lock and a load,
/// cheap enough to poll every iteration.
public final class CancellationToken: @unchecked Sendable {
    private let lock = NSLock()
    private var cancelled = false
    private var why: String?

    public init() {}

    /// Why the request was cancelled when it was not its client's `$/cancelRequest`
    /// (e.g. "the daemon is stopping"); nil otherwise.
    public var reason: String? {
        lock.lock(); defer { lock.unlock() }
        return why
    }

    public var isCancelled: Bool {
        lock.lock(); defer { lock.unlock() }
        return cancelled
    }

    /// Throws `RPCError.cancelled(partial: nil)` once cancelled. To return partial results,
    /// check `isCancelled` and throw `.cancelled(partial: ...)` yourself.
    public func checkCancelled() throws {
        if isCancelled { throw RPCError.cancelled() }
    }

    /// Cancels; returns false when it already was. `reason` is kept for the reply's message.
    @discardableResult
    public func cancel(reason: String? = nil) -> Bool {
        lock.lock()
        guard !cancelled else { lock.unlock(); return false }
        cancelled = true
        why = reason
        lock.unlock()
        return true
    }
}

/// How a request may run beside others. The handler decides per request, before it runs.
public enum Access: Sendable, Equatable {
    /// Answered on the reader thread at once, in arrival order (cheap: initialize, shutdown, list).
    case immediate
    /// Any worker, no lock.
    case concurrent
    /// Shared lock on a key (e.g. "model:mnist-small"): many readers at once.
    case read(String)
    /// Exclusive lock on a key: waits for running readers; writer-preferring, so new readers
    /// queue behind a waiting writer.
    case write(String)
    /// Shared locks on several keys.
    case reads([String])
    /// Exclusive locks on several keys.
    case writes([String])

    /// The locks to take, sorted by key with duplicates merged (a key both read and written is
    /// written). All are taken at once under the scheduler's lock, which cannot deadlock; the
    /// sorted order is what a lock-at-a-time implementation would need, and keeps logs stable.
    var locks: [KeyLock] {
        var byKey: [String: Bool] = [:]
        switch self {
        case .immediate, .concurrent: return []
        case .read(let k): byKey[k] = false
        case .write(let k): byKey[k] = true
        case .reads(let ks): for k in ks { byKey[k] = false }
        case .writes(let ks): for k in ks { byKey[k] = true }
        }
        return byKey.keys.sorted().map { KeyLock(key: $0, exclusive: byKey[$0]!) }
    }
}

struct KeyLock: Equatable {
    let key: String
    let exclusive: Bool
}
