import Foundation

/// A count of calls under a lock: a test hook for a path whose results equal another's, so
/// equality alone cannot tell it was taken (tests read it before and after a call).
final class CallCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0

    func record() { lock.withLock { count += 1 } }

    var current: Int { lock.withLock { count } }
}
