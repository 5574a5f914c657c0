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
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/true")
        try child.run()
        child.waitUntilExit()
        let dead = Int64(child.processIdentifier)
        let queue = try DatabaseQueue(path: dbPath)
        try queue.write { db in
            try db.execute(sql: "UPDATE handles SET pending_pid = ? WHERE id = ?", arguments: [dead, Store.handleRowID(orphan)!])
        }
        // Opening the file again: the orphan goes; this process's own pending one and the told one stay.
        let reopened = try Store(path: dbPath)
        XCTAssertEqual(try reopened.handles().map(\.id), [told, mine])
        XCTAssertNil(try reopened.handle(orphan))
        XCTAssertEqual(try reopened.handle(told)?.labels, [1])
    }
}
