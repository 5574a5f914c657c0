import Foundation
import GRDB

/// The AdvLens store: one SQLite file (WAL, through a GRDB DatabasePool) holding the activation
/// cache, per-unit statistics, result handles and run logs. It keeps float arrays and JSON text
/// and knows no ML. Cache rows (activations, statistics) are evicted least recently used first
/// when the file's payload would pass `capBytes`; handles and run logs are never evicted: a
/// handle that does not fit is refused. Safe to share between threads, and between processes
/// on one file (SQLite's locks; writes are IMMEDIATE transactions that wait up to
/// `busyTimeout` for another writer). See README.md beside this file.
public final class Store: @unchecked Sendable {
    public let path: String
    public let capBytes: Int
    /// A kept result whose arrays take more bytes than this is written as shard files beside
    /// the database (`HandleShards`) rather than into its row.
    public let shardThresholdBytes: Int
    let shards: HandleShards
    let pool: DatabasePool
    let checkpointer: WALCheckpointer

    /// Eviction stops at this fraction of the cap, so a full cache does not evict on every write.
    static let evictionTarget = 0.9
    /// SQLite waits this long for another connection's lock before failing.
    public static let busyTimeout: TimeInterval = 5
    /// The default cap: 4 GiB of payload.
    public static let defaultCapBytes = 4 << 30
    /// The default shard threshold: 64 MiB.
    public static let defaultShardThresholdBytes = 64 << 20

    /// Opens (creating the file, its directory and the schema as needed) a store of its own.
    /// In a server use `Store.shared(path:capBytes:)`: one pool per file per process.
    public init(path: String, capBytes: Int = Store.defaultCapBytes, shardThresholdBytes: Int = Store.defaultShardThresholdBytes) throws {
        precondition(capBytes > 0, "Store: capBytes must be positive")
        let url = URL(fileURLWithPath: path)
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        } catch {
            throw StoreError.cannotOpen("cannot create the directory of \(path): \(error.localizedDescription)")
        }
        var config = Configuration()
        config.busyMode = .timeout(Store.busyTimeout)
        config.label = "advlens-store"
        config.prepareDatabase { db in
            // WAL survives a killed process with every committed transaction; NORMAL sync only
            // risks the last transactions on power loss, never corruption.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            // Checkpoints run in the background (WALCheckpointer), not in a commit.
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 0")
            // Must precede WAL mode and the first table to take effect (a no-op on an existing
            // file): lets clear() give freed pages back to the file system.
            if !db.configuration.readonly, try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM sqlite_master") == 0 {
                try db.execute(sql: "PRAGMA auto_vacuum = INCREMENTAL")
            }
        }
        do {
            pool = try DatabasePool(path: path, configuration: config)
            try StoreSchema.migrator.migrate(pool)
        } catch let e as DatabaseError {
            throw StoreError.cannotOpen("cannot open the cache database \(path): \(e.message ?? e.description)")
        }
        self.path = path
        self.capBytes = capBytes
        self.shardThresholdBytes = shardThresholdBytes
        self.shards = HandleShards(database: path)
        self.checkpointer = WALCheckpointer(path: path, configuration: config)
        try evictOrphanedHandles()
        try sweepShards()
    }

    /// A write transaction (`pool.write`) that counts `bytes` of payload towards the next
    /// background checkpoint. Every write of the store goes through here.
    func write<T>(bytes: Int = 0, _ body: (Database) throws -> T) throws -> T {
        let result = try pool.write(body)
        checkpointer.wrote(bytes)
        return result
    }

    // MARK: one store per file per process

    private static let registryLock = NSLock()
    nonisolated(unsafe) private static var registry: [String: Store] = [:]

    /// The process's store for `path` (opened on first use; later calls get the same pool and
    /// keep the first cap and shard threshold).
    /// The stores opened so far (for the checkpoint at exit).
    static var openStores: [Store] { registryLock.withLock { Array(registry.values) } }

    public static func shared(path: String, capBytes: Int = Store.defaultCapBytes,
                              shardThresholdBytes: Int = Store.defaultShardThresholdBytes) throws -> Store {
        let key = canonical(path)
        registryLock.lock()
        defer { registryLock.unlock() }
        if let s = registry[key] { return s }
        let s = try Store(path: key, capBytes: capBytes, shardThresholdBytes: shardThresholdBytes)
        registry[key] = s
        return s
    }

    /// An absolute, standardized path with symbolic links of existing parents resolved, so
    /// two spellings of one file share one pool.
    public static func canonical(_ path: String) -> String {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        let dir = url.deletingLastPathComponent().resolvingSymlinksInPath()
        return dir.appendingPathComponent(url.lastPathComponent).path
    }

    /// The database file a user's cache path names: a directory (existing, or written with a
    /// trailing slash) holds `cache.sqlite`; anything else is the file itself.
    public static func databaseFile(_ path: String) -> String {
        var isDirectory: ObjCBool = false
        if path.hasSuffix("/") || (FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue) {
            return (path as NSString).appendingPathComponent("cache.sqlite")
        }
        return path
    }

    /// `$XDG_CACHE_HOME/advlens/cache.sqlite`, or `~/.cache/advlens/cache.sqlite`.
    public static func defaultPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        let base: String
        if let xdg = environment["XDG_CACHE_HOME"], xdg.hasPrefix("/") {
            base = xdg
        } else {
            let home = environment["HOME"] ?? NSHomeDirectory()
            base = (home as NSString).appendingPathComponent(".cache")
        }
        return ((base as NSString).appendingPathComponent("advlens") as NSString).appendingPathComponent("cache.sqlite")
    }

    // MARK: shared helpers

    private let clockLock = NSLock()
    private var lastStamp: Int64 = 0

    /// Recency stamps of cache hits not yet written (table -> row id -> stamp); see `touch`.
    let touchLock = NSLock()
    var pendingTouches: [String: [Int64: Int64]] = [:]
    static let maxPendingTouches = 50_000

    /// Microseconds since 1970, strictly increasing within this process (LRU order of rows
    /// written back to back).
    func now() -> Int64 {
        let t = Int64(Date().timeIntervalSince1970 * 1_000_000)
        return clockLock.withLock {
            lastStamp = max(t, lastStamp + 1)
            return lastStamp
        }
    }

    /// Bytes in use per table, from the usage counters.
    static func usage(_ db: Database) throws -> [StoreTable: (rows: Int, bytes: Int)] {
        var out: [StoreTable: (rows: Int, bytes: Int)] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT name, rows, bytes FROM usage") {
            if let t = StoreTable(rawValue: row["name"]) { out[t] = (row["rows"], row["bytes"]) }
        }
        return out
    }

    /// Inside a write transaction that has just added rows: if the payload passes the cap,
    /// deletes cache rows least recently used first until it is under 90% of the cap (or no
    /// cache row is left). Returns the rows evicted.
    @discardableResult
    func evictIfNeeded(_ db: Database, reserving extra: Int = 0) throws -> Int {
        let total = try Store.usage(db).values.reduce(0) { $0 + $1.bytes } + extra
        guard total > capBytes else { return 0 }
        // Eviction reads last_used: the recency of recent hits must be written first.
        try flushTouches(db)
        var toFree = total - Int(Double(capBytes) * Store.evictionTarget)
        var evicted = 0
        while toFree > 0 {
            // The oldest rows of each table (each read walks its last_used index), merged.
            var candidates: [(table: String, id: Int64, bytes: Int, lastUsed: Int64)] = []
            for table in ["activations", "statistics"] {
                for row in try Row.fetchAll(db, sql: "SELECT id, bytes, last_used FROM \(table) ORDER BY last_used LIMIT 256") {
                    candidates.append((table, row["id"], row["bytes"], row["last_used"]))
                }
            }
            if candidates.isEmpty { break }
            candidates.sort { $0.lastUsed < $1.lastUsed }
            for c in candidates.prefix(256) where toFree > 0 {
                try db.execute(sql: "DELETE FROM \(c.table) WHERE id = ?", arguments: [c.id])
                toFree -= c.bytes
                evicted += 1
            }
        }
        return evicted
    }

    /// `PRAGMA integrity_check`: "ok" for a sound file, else SQLite's list of problems.
    public func integrityCheck() throws -> String {
        try pool.read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check").joined(separator: "\n") }
    }
}
