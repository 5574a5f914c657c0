import Foundation
import GRDB

/// Moves the write-ahead log into the database file in the background, once about 4 MiB have
/// been written since the last time, on a connection of its own.
///
/// Why: SQLite's automatic checkpoint (every 1000 pages) runs inside the commit that crosses the
/// mark, on the writer's thread, copying the log and syncing the file there. An attack that keeps
/// 1.5 MB of images crossed it every third call and that call's reply waited 10 ms for it. A
/// passive checkpoint on another connection takes no writer lock: commits, and replies, go on
/// beside it. The store's writers turn the automatic one off (`PRAGMA wal_autocheckpoint = 0`).
final class WALCheckpointer: @unchecked Sendable {
    /// Bytes written since the last checkpoint that start the next (SQLite's default mark).
    static let threshold = 4 << 20

    private let path: String
    private let configuration: Configuration
    private let queue = DispatchQueue(label: "advlens-store-checkpoint", qos: .utility)
    private let lock = NSLock()
    private var written = 0
    private var scheduled = false
    private var connection: DatabaseQueue?

    init(path: String, configuration: Configuration) {
        self.path = path
        self.configuration = configuration
    }

    /// Counts `bytes` more in the log (payload and a page of overhead per transaction), and
    /// schedules a checkpoint once they pass the threshold.
    func wrote(_ bytes: Int) {
        let start = lock.withLock { () -> Bool in
            written += bytes + 4096
            guard written >= Self.threshold, !scheduled else { return false }
            scheduled = true
            written = 0
            return true
        }
        if start { queue.async { self.run() } }
    }

    /// Waits for a scheduled checkpoint to finish: before `Store.checkpoint()` (a clean exit),
    /// which a running one would make busy; tests.
    func drain() { queue.sync {} }

    private func run() {
        lock.withLock { scheduled = false }
        do {
            if connection == nil { connection = try DatabaseQueue(path: path, configuration: configuration) }
            // Passive: never waits for a reader or a writer; what a reader still needs stays.
            try connection!.writeWithoutTransaction { db in _ = try db.checkpoint(.passive) }
        } catch {
            // The next one retries; until then the log only grows.
            connection = nil
        }
    }
}
