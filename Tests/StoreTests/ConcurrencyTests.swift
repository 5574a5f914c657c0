import Foundation
import GRDB
import XCTest
@testable import Store

/// Two pools on one file (as two daemons have) and many writers at once.
final class StoreConcurrencyTests: StoreTestCase {
    func testTwoPoolsOnOneFileSeeEachOthersRows() throws {
        let a = try Store(path: dbPath), b = try Store(path: dbPath)
        XCTAssertFalse(a === b)
        let h1 = try a.addHandle(kind: "k", images: array(1), labels: [1], provenance: "{}")
        let h2 = try b.addHandle(kind: "k", images: array(2), labels: [2], provenance: "{}")
        XCTAssertNotEqual(h1, h2)
        XCTAssertEqual(try b.handle(h1)?.images, array(1))
        XCTAssertEqual(try a.handle(h2)?.images, array(2))
        try b.storeActivations(weights: "w", layer: "l", reduction: "max", rows: [(input: "x", array: array(3))])
        XCTAssertEqual(try a.loadActivations(weights: "w", layer: "l", reduction: "max", inputs: ["x"])["x"], array(3))
        XCTAssertEqual(try a.stats().tables.map(\.rows), try b.stats().tables.map(\.rows))
    }

    func testConcurrentWritersOnTwoPoolsLoseNothing() throws {
        let pools = [try Store(path: dbPath), try Store(path: dbPath)]
        let threads = 6, perThread = 15
        let lock = NSLock()
        var ids: [String] = []
        var errors: [Error] = []
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            let store = pools[t % 2]
            do {
                for i in 0..<perThread {
                    let tag = t * 1000 + i
                    let id = try store.addHandle(kind: "t\(t)", images: array(tag, count: 50), labels: [tag], provenance: "{}")
                    try store.storeActivations(weights: "w", layer: "l", reduction: "max",
                                               rows: [(input: "t\(t)-\(i)", array: array(tag, count: 20)), (input: "shared-\(i)", array: array(i, count: 20))])
                    try store.appendRunLog(RunLogEntry(method: "attack", params: "{}", durationMs: 1, status: "ok", result: "{}"))
                    lock.withLock { ids.append(id) }
                }
            } catch {
                lock.withLock { errors.append(error) }
            }
        }
        XCTAssertTrue(errors.isEmpty, "\(errors)")
        XCTAssertEqual(ids.count, threads * perThread)
        XCTAssertEqual(Set(ids).count, ids.count, "handle ids are unique across pools")
        // Every handle holds what its writer put there.
        for h in try pools[0].handles() {
            let got = try XCTUnwrap(try pools[1].handle(h.id))
            XCTAssertEqual(got.images, array(got.labels[0], count: 50))
        }
        let stats = try pools[1].stats()
        XCTAssertEqual(stats.tables.map(\.rows), [threads * perThread + perThread, 0, threads * perThread, threads * perThread])
        let summed = try pools[0].pool.read { try Int.fetchOne($0, sql: "SELECT SUM(bytes) FROM activations") }
        XCTAssertEqual(stats.tables[0].bytes, summed)
        XCTAssertEqual(try pools[0].integrityCheck(), "ok")
    }
}
