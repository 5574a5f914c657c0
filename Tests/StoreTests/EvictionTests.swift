import Foundation
import GRDB
import XCTest
@testable import Store

/// The size cap: cache rows go least recently used first; handles are never evicted.
final class EvictionTests: StoreTestCase {
    func rowBytes(_ store: Store) throws -> Int {
        try store.pool.read { try XCTUnwrap(Int.fetchOne($0, sql: "SELECT MAX(bytes) FROM activations")) }
    }

    func testLeastRecentlyUsedActivationsGoFirst() throws {
        let cap = 40_000
        let store = try Store(path: dbPath, capBytes: cap)
        // Nine rows of ~4 kB, each its own write so each has its own last_used.
        for i in 0..<9 {
            try store.storeActivations(weights: "w", layer: "l", reduction: "max", rows: [(input: "i\(i)", array: array(i, count: 1000))])
        }
        let per = try rowBytes(store)
        XCTAssertLessThanOrEqual(9 * per, cap, "the nine rows fit")
        XCTAssertEqual(try store.stats().tables[0].rows, 9)
        // Reading i0 makes it the most recently used.
        XCTAssertNotNil(try store.loadActivations(weights: "w", layer: "l", reduction: "max", inputs: ["i0"])["i0"])
        // The tenth row passes the cap: the oldest unread rows go until usage is under 90% of it.
        try store.storeActivations(weights: "w", layer: "l", reduction: "max", rows: [(input: "i9", array: array(9, count: 1000))])
        var expectEvicted = 0
        while 10 * per - expectEvicted * per > Int(Double(cap) * 0.9) { expectEvicted += 1 }
        XCTAssertGreaterThan(expectEvicted, 0)
        let present = try store.loadActivations(weights: "w", layer: "l", reduction: "max", inputs: (0..<10).map { "i\($0)" })
        let evicted = (1...expectEvicted).map { "i\($0)" }
        XCTAssertEqual(Set(present.keys), Set((0..<10).map { "i\($0)" }).subtracting(evicted))
        XCTAssertEqual(present["i0"], array(0, count: 1000), "the recently read row stayed")
        let stats = try store.stats()
        XCTAssertLessThanOrEqual(stats.totalBytes, cap)
        XCTAssertEqual(stats.tables[0].rows, 10 - expectEvicted)
    }

    func testStatisticsAndActivationsShareOneLRUOrder() throws {
        // Five ~4 kB rows pass a 20 kB cap; evicting down to 18 kB takes one row each time.
        let store = try Store(path: dbPath, capBytes: 20_000)
        func stats(_ kind: String) throws -> StoredStatistics? { try store.loadStatistics(weights: "w", layer: "l", dataset: "d", kind: kind) }
        func act(_ input: String) throws -> StoredArray? { try store.loadActivations(weights: "w", layer: "l", reduction: "max", inputs: [input])[input] }
        func putStats(_ kind: String, _ tag: Int) throws {
            try store.storeStatistics(weights: "w", layer: "l", dataset: "d", kind: kind, StoredStatistics(json: "{}", array: array(tag, count: 1000)))
        }
        func putAct(_ input: String, _ tag: Int) throws {
            try store.storeActivations(weights: "w", layer: "l", reduction: "max", rows: [(input: input, array: array(tag, count: 1000))])
        }
        try putStats("old", 0)
        try putAct("a", 1)
        try putStats("new", 2)
        try putAct("b", 3)
        XCTAssertNotNil(try stats("old"))   // now the most recently used
        try putAct("c", 4)
        XCTAssertNil(try act("a"), "the least recently used row, an activation, went first")
        XCTAssertNotNil(try stats("old"))
        try putAct("d", 5)
        XCTAssertNil(try stats("new"), "then the next least recently used, a statistics row")
        for input in ["b", "c", "d"] { XCTAssertNotNil(try act(input), input) }
        XCTAssertLessThanOrEqual(try store.stats().totalBytes, 20_000)
    }

    func testHandlesEvictCacheRowsButAreRefusedRatherThanEvicted() throws {
        let cap = 40_000
        let store = try Store(path: dbPath, capBytes: cap)
        for i in 0..<5 {
            try store.storeActivations(weights: "w", layer: "l", reduction: "max", rows: [(input: "i\(i)", array: array(i, count: 1000))])
        }
        // Two 16 kB handles: the cache makes room for them.
        let a = try store.addHandle(kind: "k", images: array(10, count: 4000), labels: [0], provenance: "{}")
        let b = try store.addHandle(kind: "k", images: array(11, count: 4000), labels: [0], provenance: "{}")
        var stats = try store.stats()
        XCTAssertLessThanOrEqual(stats.totalBytes, cap)
        XCTAssertLessThan(stats.tables[0].rows, 5, "cache rows were evicted for the handles")
        // A third would need more than the cap even with no cache at all: refused, nothing evicted.
        XCTAssertThrowsError(try store.addHandle(kind: "k", images: array(12, count: 4000), labels: [0], provenance: "{}")) { error in
            guard case StoreError.overCap(let message) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("handle/drop"))
        }
        XCTAssertEqual(try store.handles().map(\.id), [a, b])
        // Filling the cache never pushes a handle out.
        for i in 0..<20 {
            try store.storeActivations(weights: "w", layer: "l", reduction: "max", rows: [(input: "j\(i)", array: array(i, count: 1000))])
        }
        stats = try store.stats()
        XCTAssertEqual(stats.tables[2].rows, 2)
        XCTAssertLessThanOrEqual(stats.totalBytes, cap)
        XCTAssertEqual(try store.handle(a)?.images, array(10, count: 4000))
    }
}
