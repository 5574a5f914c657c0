import Foundation
import GRDB
import XCTest
@testable import Store

/// The schema on a fresh file and on a file an older version left.
final class MigrationTests: StoreTestCase {
    func testFreshFileGetsEveryMigrationWALAndIncrementalVacuum() throws {
        let store = try Store(path: dbPath)
        try store.pool.read { db in
            XCTAssertEqual(try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY rowid"), ["v1-tables", "v2-usage", "v3-handle-clean-inputs", "v4-pending-handles", "v5-handle-shards", "v6-pending-table"])
            XCTAssertEqual(try String.fetchOne(db, sql: "PRAGMA journal_mode"), "wal")
            XCTAssertEqual(try Int.fetchOne(db, sql: "PRAGMA auto_vacuum"), 2)
            for table in ["activations", "statistics", "handles", "pending_handles", "run_logs", "usage"] {
                XCTAssertTrue(try db.tableExists(table), table)
            }
        }
        // Writers wait 5 s for another process's lock.
        XCTAssertEqual(try store.pool.writeWithoutTransaction { try Int.fetchOne($0, sql: "PRAGMA busy_timeout") }, 5000)
        XCTAssertEqual(try store.stats().tables.map(\.rows), [0, 0, 0, 0])
    }

    /// A file at v1 (no usage counters) with rows in it: opening it adds v2 and counts the rows
    /// already there.
    func testExistingFileIsMigratedWithItsRows() throws {
        do {
            let old = try DatabasePool(path: dbPath)
            try StoreSchema.migrator.migrate(old, upTo: "v1-tables")
            try old.write { db in
                try db.execute(sql: """
                    INSERT INTO activations (weights, layer, reduction, input, shape, data, bytes, last_used) VALUES ('w', 'l', 'max', 'i', '[2]', ?, 100, 1);
                    INSERT INTO handles (kind, shape, images, labels, provenance, details, created, bytes) VALUES ('k', '[1]', ?, '[4]', '{}', '{}', 0, 50);
                    """, arguments: [Data(count: 8), Data(count: 4)])
            }
        }
        let store = try Store(path: dbPath)
        let stats = try store.stats()
        XCTAssertEqual(stats.tables.map(\.rows), [1, 0, 1, 0])
        XCTAssertEqual(stats.totalBytes, 150)
        XCTAssertEqual(try store.loadActivations(weights: "w", layer: "l", reduction: "max", inputs: ["i"])["i"], StoredArray(shape: [2], values: [0, 0]))
        XCTAssertEqual(try store.handle("adv-1")?.labels, [4])
        // The counters follow later writes; a second open changes nothing.
        _ = try store.addHandle(kind: "k", images: StoredArray(shape: [1], values: [1]), labels: [0], provenance: "{}")
        XCTAssertEqual(try Store(path: dbPath).stats().tables.map(\.rows), [1, 0, 2, 0])
        XCTAssertEqual(try store.integrityCheck(), "ok")
    }

    func testUnwritablePlaceIsReportedWithThePath() throws {
        let file = directory.appendingPathComponent("plain-file")
        try Data("x".utf8).write(to: file)
        let path = file.appendingPathComponent("cache.sqlite").path
        XCTAssertThrowsError(try Store(path: path)) { error in
            guard case StoreError.cannotOpen(let message) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains(path) || message.contains(file.path), message)
        }
    }
}
