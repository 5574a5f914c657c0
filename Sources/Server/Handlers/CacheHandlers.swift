import Foundation
import Protocol
import RPC
import Store

/// cache/stats and cache/clear: the connection's cache database (activations, statistics,
/// kept results, run logs) as rows and bytes per table, and emptying tables of it.
extension AdvLensServer {
    func registerCacheMethods() {
        register(CacheStats.self, access: { _ in .concurrent }) { [unowned self] _, context in
            try Self.wireStats(workspace.store(for: context.connection).stats())
        }
        register(CacheClear.self, access: { _ in .concurrent }) { [unowned self] p, context in
            let names = p.what ?? ["cache"]
            guard !names.isEmpty else { throw ServerError.invalidParams("params.what: expected at least one table name") }
            let tables: Set<StoreTable>
            do { tables = try Store.tables(named: names) } catch { throw ServerError.invalidParams("params.what: \(error)") }
            let store = try workspace.store(for: context.connection)
            let cleared = try store.clear(tables)
            Log.info("cache/clear \(names.joined(separator: ",")) on \(store.path)")
            return CacheClear.Result(cleared: cleared.map(Self.wireUsage), stats: Self.wireStats(try store.stats()))
        }
    }

    static func wireUsage(_ u: TableUsage) -> CacheTableUsage { CacheTableUsage(name: u.table.rawValue, rows: u.rows, bytes: u.bytes) }

    static func wireStats(_ s: StoreStats) -> CacheStats.Result {
        CacheStats.Result(path: s.path, fileBytes: s.fileBytes, databaseBytes: s.databaseBytes, shardBytes: s.shardBytes,
                          shardFiles: s.shardFiles, capBytes: s.capBytes, totalBytes: s.totalBytes, tables: s.tables.map(wireUsage))
    }
}
