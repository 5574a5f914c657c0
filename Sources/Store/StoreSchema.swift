import GRDB

/// The schema, as GRDB migrations (applied in order, each once, recorded in grdb_migrations).
/// Never edit a shipped migration: add a new one.
enum StoreSchema {
    /// The tables the store knows, by the names stats() and clear(what:) use.
    static let tables: [StoreTable] = [.activations, .statistics, .handles, .runLogs]

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1-tables") { db in
            // Cache rows: `bytes` is what the row counts against the cap, `last_used` (µs since
            // 1970) orders LRU eviction.
            try db.execute(sql: """
                CREATE TABLE activations (
                    id INTEGER PRIMARY KEY,
                    weights TEXT NOT NULL, layer TEXT NOT NULL, reduction TEXT NOT NULL, input TEXT NOT NULL,
                    shape TEXT NOT NULL, data BLOB NOT NULL,
                    bytes INTEGER NOT NULL, last_used INTEGER NOT NULL);
                CREATE UNIQUE INDEX activations_key ON activations(weights, layer, reduction, input);
                CREATE INDEX activations_lru ON activations(last_used);

                CREATE TABLE statistics (
                    id INTEGER PRIMARY KEY,
                    weights TEXT NOT NULL, layer TEXT NOT NULL, dataset TEXT NOT NULL, kind TEXT NOT NULL,
                    json TEXT NOT NULL, shape TEXT, data BLOB,
                    bytes INTEGER NOT NULL, last_used INTEGER NOT NULL);
                CREATE UNIQUE INDEX statistics_key ON statistics(weights, layer, dataset, kind);
                CREATE INDEX statistics_lru ON statistics(last_used);

                -- AUTOINCREMENT: an id is never reused, even after a drop, so "adv-N" names one
                -- result for the life of the file, across restarts and processes.
                CREATE TABLE handles (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    kind TEXT NOT NULL, shape TEXT NOT NULL, images BLOB NOT NULL,
                    labels TEXT NOT NULL, provenance TEXT NOT NULL, details TEXT NOT NULL,
                    created REAL NOT NULL, bytes INTEGER NOT NULL);

                CREATE TABLE run_logs (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    time REAL NOT NULL, method TEXT NOT NULL, params TEXT NOT NULL,
                    duration_ms REAL NOT NULL, status TEXT NOT NULL, result TEXT NOT NULL,
                    bytes INTEGER NOT NULL);
                CREATE INDEX run_logs_time ON run_logs(time);
                """)
        }
        m.registerMigration("v2-usage") { db in
            // Rows and bytes per table, kept by triggers, so the cap check on every write reads
            // four rows instead of summing whole tables. Backfilled from rows already there.
            try db.execute(sql: "CREATE TABLE usage (name TEXT PRIMARY KEY, rows INTEGER NOT NULL, bytes INTEGER NOT NULL)")
            for t in tables {
                try db.execute(sql: "INSERT INTO usage (name, rows, bytes) SELECT ?, COUNT(*), COALESCE(SUM(bytes), 0) FROM \(t.sqlName)",
                               arguments: [t.rawValue])
                try db.execute(sql: """
                    CREATE TRIGGER \(t.sqlName)_usage_insert AFTER INSERT ON \(t.sqlName) BEGIN
                        UPDATE usage SET rows = rows + 1, bytes = bytes + NEW.bytes WHERE name = '\(t.rawValue)';
                    END;
                    CREATE TRIGGER \(t.sqlName)_usage_delete AFTER DELETE ON \(t.sqlName) BEGIN
                        UPDATE usage SET rows = rows - 1, bytes = bytes - OLD.bytes WHERE name = '\(t.rawValue)';
                    END;
                    CREATE TRIGGER \(t.sqlName)_usage_update AFTER UPDATE OF bytes ON \(t.sqlName) BEGIN
                        UPDATE usage SET bytes = bytes - OLD.bytes + NEW.bytes WHERE name = '\(t.rawValue)';
                    END;
                    """)
            }
        }
        m.registerMigration("v3-handle-clean-inputs") { db in
            // An attack's clean inputs beside its adversarial images (probe's r(x*) and
            // dissection of adversarial images need the source of each one).
            try db.execute(sql: "ALTER TABLE handles ADD COLUMN clean_shape TEXT")
            try db.execute(sql: "ALTER TABLE handles ADD COLUMN clean BLOB")
        }
        m.registerMigration("v4-pending-handles") { db in
            // The process that kept a result until its reply went out (NULL once a client was
            // told of it): a result whose maker died first is evicted when the file is next opened.
            try db.execute(sql: "ALTER TABLE handles ADD COLUMN pending_pid INTEGER")
        }
        m.registerMigration("v5-handle-shards") { db in
            // A kept result above the shard threshold keeps its arrays in safetensors files
            // beside the database (HandleShards); this column lists them (JSON), the blob
            // columns then hold nothing.
            try db.execute(sql: "ALTER TABLE handles ADD COLUMN shards TEXT")
        }
        m.registerMigration("v6-pending-table") { db in
            // Pending results in a table of their own: SQLite rewrites a whole row on any update,
            // so clearing handles.pending_pid on each reply rewrote the result's images (10 ms of
            // a 70 ms FGSM on 64 CIFAR-sized images). Confirming is now a delete of a small row.
            // handles.pending_pid stays (a column cannot be dropped without rewriting the table)
            // and is NULL from here on.
            try db.execute(sql: """
                CREATE TABLE pending_handles (handle INTEGER PRIMARY KEY, pid INTEGER NOT NULL);
                INSERT INTO pending_handles (handle, pid) SELECT id, pending_pid FROM handles WHERE pending_pid IS NOT NULL;
                UPDATE handles SET pending_pid = NULL WHERE pending_pid IS NOT NULL;
                CREATE TRIGGER handles_pending_delete AFTER DELETE ON handles BEGIN
                    DELETE FROM pending_handles WHERE handle = OLD.id;
                END;
                """)
        }
        return m
    }
}

/// The store's tables, by their public names.
public enum StoreTable: String, CaseIterable, Sendable {
    case activations, statistics, handles, runLogs

    var sqlName: String { self == .runLogs ? "run_logs" : rawValue }
}
