import Foundation
import GRDB

/// One request that did work (an attack, a probe, a training step): what was asked, how long
/// it took and what came out, as JSON text summaries.
public struct RunLogEntry: Sendable, Equatable {
    public var id: Int64?
    public var time: Date
    public var method: String
    /// JSON text: a summary of the params (not the input tensors).
    public var params: String
    public var durationMs: Double
    /// "ok", "error" or "cancelled".
    public var status: String
    /// JSON text: a summary of the result (or the error).
    public var result: String

    public init(id: Int64? = nil, time: Date = Date(), method: String, params: String, durationMs: Double, status: String, result: String) {
        self.id = id
        self.time = time
        self.method = method
        self.params = params
        self.durationMs = durationMs
        self.status = status
        self.result = result
    }
}

extension Store {
    /// Run logs keep the newest this many rows; older ones go as new ones come.
    public static let runLogLimit = 10_000

    /// Appends a run log row and returns its id. Counted against the cap but never evicted by it.
    @discardableResult
    public func appendRunLog(_ entry: RunLogEntry) throws -> Int64 {
        let bytes = entry.method.utf8.count + entry.params.utf8.count + entry.status.utf8.count + entry.result.utf8.count + 16
        return try write(bytes: bytes) { db in
            try db.execute(sql: """
                INSERT INTO run_logs (time, method, params, duration_ms, status, result, bytes) VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: [entry.time.timeIntervalSince1970, entry.method, entry.params, entry.durationMs, entry.status, entry.result, bytes])
            let id = db.lastInsertedRowID
            try db.execute(sql: "DELETE FROM run_logs WHERE id <= ?", arguments: [id - Int64(Store.runLogLimit)])
            return id
        }
    }

    /// The newest run logs, newest first, optionally only of one method.
    public func runLogs(method: String? = nil, limit: Int = 100) throws -> [RunLogEntry] {
        try pool.read { db in
            let filter = method == nil ? "" : "WHERE method = ?"
            let args: StatementArguments = method.map { [$0, limit] } ?? [limit]
            return try Row.fetchAll(db, sql: "SELECT * FROM run_logs \(filter) ORDER BY id DESC LIMIT ?", arguments: args).map { row in
                RunLogEntry(id: row["id"], time: Date(timeIntervalSince1970: row["time"]), method: row["method"], params: row["params"],
                            durationMs: row["duration_ms"], status: row["status"], result: row["result"])
            }
        }
    }
}
