import Foundation
import GRDB

/// Per-unit statistics of a layer over a dataset (quantiles, top-K, ...): JSON text and an
/// optional float array, per (weights fingerprint, layer, dataset fingerprint, kind).
public struct StoredStatistics: Sendable, Equatable {
    public var json: String
    public var array: StoredArray?
    public init(json: String, array: StoredArray? = nil) {
        self.json = json
        self.array = array
    }
}

extension Store {
    /// The statistics kept for this key, or nil. A hit becomes most recently used.
    public func loadStatistics(weights: String, layer: String, dataset: String, kind: String) throws -> StoredStatistics? {
        let found: (Int64, StoredStatistics)? = try pool.read { db in
            guard let row = try Row.fetchOne(db, sql: """
                SELECT id, json, shape, data FROM statistics WHERE weights = ? AND layer = ? AND dataset = ? AND kind = ?
                """, arguments: [weights, layer, dataset, kind]) else { return nil }
            var array: StoredArray?
            if let shape: String = row["shape"], let data: Data = row["data"] {
                array = try StoredArray(shapeText: shape, blob: data)
            }
            return (row["id"], StoredStatistics(json: row["json"], array: array))
        }
        guard let (id, stats) = found else { return nil }
        try touch("statistics", ids: [id])
        return stats
    }

    /// Keeps (or replaces) the statistics for this key, then evicts if over the cap.
    public func storeStatistics(weights: String, layer: String, dataset: String, kind: String, _ stats: StoredStatistics) throws {
        let stamp = now()
        let bytes = stats.json.utf8.count + (stats.array?.byteCount ?? 0) + Store.keyBytes(weights, layer, dataset, kind)
        try write(bytes: bytes) { db in
            try db.execute(sql: """
                INSERT INTO statistics (weights, layer, dataset, kind, json, shape, data, bytes, last_used)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(weights, layer, dataset, kind) DO UPDATE SET
                    json = excluded.json, shape = excluded.shape, data = excluded.data, bytes = excluded.bytes,
                    last_used = excluded.last_used
                """, arguments: [weights, layer, dataset, kind, stats.json, stats.array?.shapeText, stats.array?.blob, bytes, stamp])
            try evictIfNeeded(db)
        }
    }
}
