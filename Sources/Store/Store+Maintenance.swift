import Foundation
import GRDB

/// Rows and payload bytes of one table.
public struct TableUsage: Sendable, Equatable {
    public var table: StoreTable
    public var rows: Int
    public var bytes: Int
}

/// What `stats()` reports.
public struct StoreStats: Sendable, Equatable {
    public var path: String
    /// Everything the cache takes on disk now: `databaseBytes` + `shardBytes`.
    public var fileBytes: Int
    /// The database file plus its WAL.
    public var databaseBytes: Int
    /// The files in the shard directory (`cache.sqlite.shards/`: kept results' shards, and
    /// the temporaries of shards being written), and how many there are.
    public var shardBytes: Int
    public var shardFiles: Int
    public var capBytes: Int
    /// Payload counted against the cap, all tables.
    public var totalBytes: Int
    public var tables: [TableUsage]
}

extension Store {
    public func stats() throws -> StoreStats {
        let usage = try pool.read { db in try Store.usage(db) }
        let tables = StoreTable.allCases.map { TableUsage(table: $0, rows: usage[$0]?.rows ?? 0, bytes: usage[$0]?.bytes ?? 0) }
        let database = [path, path + "-wal"].map { (try? FileManager.default.attributesOfItem(atPath: $0)[.size] as? Int) ?? 0 }.reduce(0, +)
        let shardSizes = shards.fileSizes()
        let shardBytes = shardSizes.reduce(0, +)
        return StoreStats(path: path, fileBytes: database + shardBytes, databaseBytes: database, shardBytes: shardBytes, shardFiles: shardSizes.count,
                          capBytes: capBytes, totalBytes: tables.reduce(0) { $0 + $1.bytes }, tables: tables)
    }

    /// Deletes every row of the given tables in one transaction and returns what each held;
    /// then gives freed pages back to the file system.
    @discardableResult
    public func clear(_ what: Set<StoreTable>) throws -> [TableUsage] {
        let order = StoreTable.allCases.filter(what.contains)
        var files: [HandleShards.Shard] = []
        let cleared = try write { db -> [TableUsage] in
            let usage = try Store.usage(db)
            if what.contains(.handles) { files = try Store.shardsOfHandles(db, where: "1") }
            for t in order { try db.execute(sql: "DELETE FROM \(t.sqlName)") }
            return order.map { TableUsage(table: $0, rows: usage[$0]?.rows ?? 0, bytes: usage[$0]?.bytes ?? 0) }
        }
        shards.remove(files)
        try pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA incremental_vacuum")
            // Passive: never waits for readers (another daemon may be reading); the WAL is
            // reused either way.
            _ = try? db.checkpoint(.passive)
        }
        return cleared
    }

    /// Table names as clients spell them ("activations", "statistics", "handles", "runLogs",
    /// or "cache" for the two cache tables, "all" for every table).
    public static func tables(named names: [String]) throws -> Set<StoreTable> {
        var out = Set<StoreTable>()
        for name in names {
            switch name {
            case "all": out.formUnion(StoreTable.allCases)
            case "cache": out.formUnion([.activations, .statistics])
            default:
                guard let t = StoreTable(rawValue: name) else {
                    throw StoreError.unknownTable("unknown table \"\(name)\"; known: activations, statistics, handles, runLogs, cache, all")
                }
                out.insert(t)
            }
        }
        return out
    }
}

extension Store {
    /// Moves the write-ahead log into the database file and empties it, so the file alone holds
    /// everything (a copy of cache.sqlite without its -wal keeps every handle). Busy readers in
    /// other processes can keep part of the log; then it is left for them.
    public func checkpoint() throws {
        // One checkpointer at a time: a background one still running would make this one busy.
        checkpointer.drain()
        try pool.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
    }

    /// `checkpoint()` on every store this process opened: the daemon's clean exit.
    public static func checkpointAll() {
        for store in openStores {
            do { try store.checkpoint() } catch { FileHandle.standardError.write("advlensd: checkpoint of \(store.path) failed: \(error)\n".data(using: .utf8)!) }
        }
    }
}
