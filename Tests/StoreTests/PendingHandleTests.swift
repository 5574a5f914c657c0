import Foundation
import GRDB
@testable import Store
import XCTest

/// A result kept while its reply is still to go out belongs to the process that made it: if
/// that process dies before a client is told (killed between keeping and replying), the next
/// open of the file evicts it; once confirmed it is kept like any other, whatever happens.
final class PendingHandleTests: StoreTestCase {
    func images() -> StoredArray { StoredArray(shape: [1, 1, 2, 2], values: [0, 0.25, 0.5, 1]) }

    func testOrphanedPendingResultsAreEvictedOnOpen() throws {
        let store = try Store(path: dbPath)
        let told = try store.addHandle(kind: "attack fgsm", images: images(), labels: [1], provenance: "{}", pending: true)
        try store.confirmHandle(told)
        let orphan = try store.addHandle(kind: "attack fgsm", images: images(), labels: [2], provenance: "{}", pending: true)
        let mine = try store.addHandle(kind: "attack fgsm", images: images(), labels: [3], provenance: "{}", pending: true)
        // The orphan's maker: a process that has exited (a child that ran and was reaped).
        let dead = try exitedProcessID()
        let queue = try DatabaseQueue(path: dbPath)
        try queue.write { db in
            try db.execute(sql: "UPDATE pending_handles SET pid = ? WHERE handle = ?", arguments: [dead, Store.handleRowID(orphan)!])
        }
        // Opening the file again: the orphan goes; this process's own pending one and the told one stay.
        let reopened = try Store(path: dbPath)
        XCTAssertEqual(try reopened.handles().map(\.id), [told, mine])
        XCTAssertNil(try reopened.handle(orphan))
        XCTAssertEqual(try reopened.handle(told)?.labels, [1])
    }

    /// A file an older version left (v5, the mark in handles.pending_pid): opening it moves the
    /// marks to pending_handles, so a dead maker's result is still evicted and a live one's kept.
    func testPendingMarksOfAnOlderFileAreCarriedOver() throws {
        let dead = try exitedProcessID(), live = Int64(getpid())
        do {
            let old = try DatabasePool(path: dbPath)
            try StoreSchema.migrator.migrate(old, upTo: "v5-handle-shards")
            try old.write { db in
                for (tag, pid) in [(1, nil), (2, dead), (3, live)] as [(Int, Int64?)] {
                    try db.execute(sql: """
                        INSERT INTO handles (kind, shape, images, labels, provenance, details, created, bytes, pending_pid)
                        VALUES ('attack fgsm', '[1,1,2,2]', ?, ?, '{}', '{}', 0, 16, ?)
                        """, arguments: [images().values.withUnsafeBytes { Data($0) }, "[\(tag)]", pid])
                }
            }
        }
        let store = try Store(path: dbPath)
        XCTAssertEqual(try store.handles().map(\.labels), [[1], [3]])
        try store.pool.read { db in
            XCTAssertEqual(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM handles WHERE pending_pid IS NOT NULL"), 0)
            XCTAssertEqual(try Row.fetchAll(db, sql: "SELECT handle, pid FROM pending_handles").map { [$0["handle"] as Int64, $0["pid"] as Int64] },
                           [[3, live]])
        }
    }

    /// Confirming a result changes its pending mark only: the images in its row are not
    /// written again (SQLite rewrites a whole row on update; the write-ahead log shows it).
    func testConfirmingDoesNotRewriteTheImages() throws {
        let store = try Store(path: dbPath)
        let count = 1 << 18   // 1 MiB of floats, below the shard threshold: kept in the row
        let big = StoredArray(shape: [1, 1, 512, 512], values: (0..<count).map { Float($0 % 977) })
        let id = try store.addHandle(kind: "attack fgsm", images: big, labels: [0], provenance: "{}", pending: true)
        try store.checkpoint()   // empties the write-ahead log
        let wal = dbPath + "-wal"
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: wal)[.size] as? Int, 0)
        try store.confirmHandle(id)
        let written = try FileManager.default.attributesOfItem(atPath: wal)[.size] as? Int ?? -1
        XCTAssertGreaterThan(written, 0)
        XCTAssertLessThan(written, 64 << 10, "confirming wrote \(written) bytes to the log for a 1 MiB result")
        try store.pool.read { db in XCTAssertEqual(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM pending_handles"), 0) }
        XCTAssertEqual(try store.handle(id)?.images, big)
    }

    /// The pid of a process that has exited (a child that ran and was reaped).
    func exitedProcessID() throws -> Int64 {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/true")
        try child.run()
        child.waitUntilExit()
        return Int64(child.processIdentifier)
    }
}
