import Foundation
import GRDB

/// The activation cache: one row per (weights fingerprint, layer, reduction, input
/// fingerprint), so a batch that overlaps an earlier one hits for the images they share, and a
/// training step (new weights fingerprint) misses by construction.
extension Store {
    /// SQLite's bound-parameter limit is far above this; chunks keep statements small.
    static let keyChunk = 500

    /// The cached arrays among `inputs` (input fingerprints), by input fingerprint; misses are
    /// absent. Hits become most recently used.
    public func loadActivations(weights: String, layer: String, reduction: String, inputs: [String]) throws -> [String: StoredArray] {
        let unique = Array(Set(inputs))
        var found: [String: StoredArray] = [:]
        var ids: [Int64] = []
        try pool.read { db in
            for start in stride(from: 0, to: unique.count, by: Store.keyChunk) {
                let chunk = Array(unique[start..<min(unique.count, start + Store.keyChunk)])
                let marks = Array(repeating: "?", count: chunk.count).joined(separator: ",")
                let rows = try Row.fetchCursor(db, sql: """
                    SELECT id, input, shape, data FROM activations
                    WHERE weights = ? AND layer = ? AND reduction = ? AND input IN (\(marks))
                    """, arguments: StatementArguments([weights, layer, reduction] + chunk))
                while let row = try rows.next() {
                    found[row["input"]] = try StoredArray(shapeText: row["shape"], blob: row["data"])
                    ids.append(row["id"])
                }
            }
        }
        if !ids.isEmpty { try touch("activations", ids: ids) }
        return found
    }

    /// Keeps one array per input (replacing an older row of the same key) in one transaction,
    /// then evicts least recently used cache rows if the store is over its cap.
    public func storeActivations(weights: String, layer: String, reduction: String, rows: [(input: String, array: StoredArray)]) throws {
        guard !rows.isEmpty else { return }
        let stamp = now()
        try write(bytes: rows.reduce(0) { $0 + $1.array.byteCount }) { db in
            let statement = try db.cachedStatement(sql: """
                INSERT INTO activations (weights, layer, reduction, input, shape, data, bytes, last_used)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(weights, layer, reduction, input) DO UPDATE SET
                    shape = excluded.shape, data = excluded.data, bytes = excluded.bytes, last_used = excluded.last_used
                """)
            for (input, array) in rows {
                try statement.execute(arguments: [weights, layer, reduction, input, array.shapeText, array.blob,
                                                  array.byteCount + Store.keyBytes(weights, layer, reduction, input), stamp])
            }
            try evictIfNeeded(db)
        }
    }

    /// The arrays for `inputs` in their order: cached ones from the store, the rest from
    /// `compute`, which gets the positions (in `inputs`) of the misses and returns one array per
    /// position, in that order; those are stored (one transaction) before returning. Repeated
    /// fingerprints are computed once. `compute` is not called when everything hits.
    public func activations(weights: String, layer: String, reduction: String, inputs: [String],
                            compute: ([Int]) throws -> [StoredArray]) throws -> [StoredArray] {
        let cached = try loadActivations(weights: weights, layer: layer, reduction: reduction, inputs: inputs)
        var missing: [Int] = []
        var seen = Set<String>()
        for (i, key) in inputs.enumerated() where cached[key] == nil && seen.insert(key).inserted { missing.append(i) }
        var computed: [String: StoredArray] = [:]
        if !missing.isEmpty {
            let arrays = try compute(missing)
            precondition(arrays.count == missing.count, "Store.activations: compute returned \(arrays.count) arrays for \(missing.count) inputs")
            let rows = zip(missing, arrays).map { (input: inputs[$0], array: $1) }
            try storeActivations(weights: weights, layer: layer, reduction: reduction, rows: rows)
            for row in rows { computed[row.input] = row.array }
        }
        return inputs.map { cached[$0] ?? computed[$0]! }
    }

    /// Key text counts against the cap too (it is stored, twice with the index).
    static func keyBytes(_ parts: String...) -> Int { parts.reduce(0) { $0 + $1.utf8.count } }

    /// Marks rows most recently used. The stamps wait in memory and are written by the next
    /// eviction (which is what reads them) or once many are pending, so a read that hits the
    /// cache costs no write transaction. Another process evicting meanwhile sees the older
    /// stamps; a killed process loses only recency, never data.
    func touch(_ table: String, ids: [Int64]) throws {
        let stamp = now()
        let count = touchLock.withLock { () -> Int in
            for id in ids { pendingTouches[table, default: [:]][id] = stamp }
            return pendingTouches.values.reduce(0) { $0 + $1.count }
        }
        if count >= Store.maxPendingTouches { try write { db in try flushTouches(db) } }
    }

    /// Writes the pending recency stamps (inside a write transaction).
    func flushTouches(_ db: Database) throws {
        let pending = touchLock.withLock { () -> [String: [Int64: Int64]] in
            defer { pendingTouches = [:] }
            return pendingTouches
        }
        for (table, stamps) in pending {
            let statement = try db.cachedStatement(sql: "UPDATE \(table) SET last_used = MAX(last_used, ?) WHERE id = ?")
            for (id, stamp) in stamps { try statement.execute(arguments: [stamp, id]) }
        }
    }
}
