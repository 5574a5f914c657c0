import Foundation
import GRDB
import XCTest
@testable import Store

/// Every table written and read back, byte for byte.
final class RoundTripTests: StoreTestCase {
    func testActivationsRoundTripPerImageWithPartialHits() throws {
        let store = try Store(path: dbPath)
        let rows = (0..<5).map { (input: "img\($0)", array: array($0, count: 6, shape: [2, 3])) }
        try store.storeActivations(weights: "w1", layer: "conv1", reduction: "max", rows: Array(rows[0..<3]))
        // An overlapping batch: three of five images hit, one per image.
        let hits = try store.loadActivations(weights: "w1", layer: "conv1", reduction: "max", inputs: rows.map(\.input))
        XCTAssertEqual(Set(hits.keys), ["img0", "img1", "img2"])
        for i in 0..<3 { XCTAssertEqual(hits["img\(i)"], rows[i].array) }
        // Other weights, layer or reduction: misses by construction.
        XCTAssertTrue(try store.loadActivations(weights: "w2", layer: "conv1", reduction: "max", inputs: ["img0"]).isEmpty)
        XCTAssertTrue(try store.loadActivations(weights: "w1", layer: "conv2", reduction: "max", inputs: ["img0"]).isEmpty)
        XCTAssertTrue(try store.loadActivations(weights: "w1", layer: "conv1", reduction: "mean", inputs: ["img0"]).isEmpty)
        // Storing the same key again replaces the row rather than adding one.
        try store.storeActivations(weights: "w1", layer: "conv1", reduction: "max", rows: [(input: "img0", array: array(99, count: 6))])
        XCTAssertEqual(try store.loadActivations(weights: "w1", layer: "conv1", reduction: "max", inputs: ["img0"])["img0"], array(99, count: 6))
        let stats = try store.stats()
        XCTAssertEqual(stats.tables.first { $0.table == .activations }?.rows, 3)
        // The usage counters agree with the rows themselves.
        let summed = try store.pool.read { try Int.fetchOne($0, sql: "SELECT SUM(bytes) FROM activations") }
        XCTAssertEqual(stats.tables.first { $0.table == .activations }?.bytes, summed)
    }

    /// Load-or-compute: only the misses are computed (each fingerprint once), then stored; the
    /// answer is in input order whatever came from where.
    func testActivationsComputeOnlyTheMisses() throws {
        let store = try Store(path: dbPath)
        try store.storeActivations(weights: "w", layer: "l", reduction: "max", rows: [(input: "b", array: array(2, count: 3))])
        var asked: [[Int]] = []
        let inputs = ["a", "b", "c", "a"]
        let first = try store.activations(weights: "w", layer: "l", reduction: "max", inputs: inputs) { positions in
            asked.append(positions)
            return positions.map { array(10 + $0, count: 3) }
        }
        XCTAssertEqual(asked, [[0, 2]], "b was cached and the repeated a is computed once")
        XCTAssertEqual(first, [array(10, count: 3), array(2, count: 3), array(12, count: 3), array(10, count: 3)])
        let again = try store.activations(weights: "w", layer: "l", reduction: "max", inputs: inputs) { positions in
            asked.append(positions)
            return []
        }
        XCTAssertEqual(asked.count, 1, "everything hits the second time")
        XCTAssertEqual(again, first)
    }

    func testManyInputsInOneBatchCrossTheStatementChunks() throws {
        let store = try Store(path: dbPath)
        let rows = (0..<1200).map { (input: String(format: "%016x", $0), array: array($0, count: 4)) }
        try store.storeActivations(weights: "w", layer: "fc", reduction: "mean", rows: rows)
        let hits = try store.loadActivations(weights: "w", layer: "fc", reduction: "mean", inputs: rows.map(\.input) + ["missing"])
        XCTAssertEqual(hits.count, 1200)
        XCTAssertEqual(hits[rows[1111].input], rows[1111].array)
    }

    func testStatisticsRoundTripWithAndWithoutArray() throws {
        let store = try Store(path: dbPath)
        XCTAssertNil(try store.loadStatistics(weights: "w", layer: "fc", dataset: "d", kind: "quantiles"))
        let q = StoredStatistics(json: #"{"q":[0.995]}"#, array: array(7, count: 12, shape: [12, 1]))
        try store.storeStatistics(weights: "w", layer: "fc", dataset: "d", kind: "quantiles", q)
        try store.storeStatistics(weights: "w", layer: "fc", dataset: "d", kind: "topK", StoredStatistics(json: #"{"top":[[1,2]]}"#))
        XCTAssertEqual(try store.loadStatistics(weights: "w", layer: "fc", dataset: "d", kind: "quantiles"), q)
        XCTAssertEqual(try store.loadStatistics(weights: "w", layer: "fc", dataset: "d", kind: "topK"), StoredStatistics(json: #"{"top":[[1,2]]}"#))
        XCTAssertNil(try store.loadStatistics(weights: "w", layer: "fc", dataset: "other", kind: "topK"))
    }

    func testHandlesRoundTripAndIdsAreNeverReused() throws {
        var store: Store? = try Store(path: dbPath)
        let images = array(3, count: 2 * 784, shape: [2, 1, 28, 28])
        let a = try store!.addHandle(kind: "attack pgd", images: images, labels: [7, 2], provenance: #"{"method":"pgd"}"#,
                                     details: #"{"targets":[null,3]}"#)
        let b = try store!.addHandle(kind: "attack fgsm", images: array(4, count: 784, shape: [1, 1, 28, 28]), labels: [1], provenance: "{}")
        XCTAssertNotEqual(a, b)
        let got = try XCTUnwrap(try store!.handle(a))
        XCTAssertEqual(got.images, images)
        XCTAssertEqual(got.labels, [7, 2])
        XCTAssertEqual(got.kind, "attack pgd")
        XCTAssertEqual(got.provenance, #"{"method":"pgd"}"#)
        XCTAssertEqual(got.details, #"{"targets":[null,3]}"#)
        XCTAssertEqual(try store!.handles().map(\.id), [a, b])
        XCTAssertEqual(try store!.handles()[0].shape, [2, 1, 28, 28])
        XCTAssertTrue(try store!.dropHandle(b))
        XCTAssertFalse(try store!.dropHandle(b))
        XCTAssertNil(try store!.handle(b))
        XCTAssertNil(try store!.handle("nonsense"))
        // After a restart the dropped id is still not handed out again.
        store = nil
        let reopened = try Store(path: dbPath)
        let c = try reopened.addHandle(kind: "attack fgsm", images: array(5, count: 784, shape: [1, 1, 28, 28]), labels: [0], provenance: "{}")
        XCTAssertFalse([a, b].contains(c))
        XCTAssertEqual(try reopened.handle(a)?.images, images)
        XCTAssertNil(try reopened.handle(a)?.clean)
    }

    func testHandlesKeepTheirCleanInputs() throws {
        let store = try Store(path: dbPath)
        let images = array(3, count: 2 * 784, shape: [2, 1, 28, 28]), clean = array(9, count: 784, shape: [1, 1, 28, 28])
        let id = try store.addHandle(kind: "attack pgd", images: images, clean: clean, labels: [7, 7], provenance: "{}")
        XCTAssertEqual(try store.handle(id)?.clean, clean)
        XCTAssertEqual(try store.handle(id)?.images, images)
        let info = try XCTUnwrap(try store.handles().first)
        XCTAssertEqual(info.cleanShape, [1, 1, 28, 28])
        XCTAssertEqual(info.imageBytes, 3 * 784 * 4, "the images and the clean inputs kept with them")
        XCTAssertGreaterThanOrEqual(info.bytes, info.imageBytes)
    }

    func testRunLogsAppendNewestFirst() throws {
        let store = try Store(path: dbPath)
        for i in 0..<3 {
            try store.appendRunLog(RunLogEntry(method: i == 1 ? "probe" : "attack", params: #"{"i":\#(i)}"#, durationMs: Double(i),
                                               status: "ok", result: "{}"))
        }
        let all = try store.runLogs()
        XCTAssertEqual(all.map(\.params), [#"{"i":2}"#, #"{"i":1}"#, #"{"i":0}"#])
        XCTAssertEqual(try store.runLogs(method: "probe").map(\.durationMs), [1])
        XCTAssertEqual(try store.stats().tables.first { $0.table == .runLogs }?.rows, 3)
    }

    func testClearEmptiesOnlyTheNamedTables() throws {
        let store = try Store(path: dbPath)
        try store.storeActivations(weights: "w", layer: "l", reduction: "max", rows: [(input: "i", array: array(1))])
        try store.storeStatistics(weights: "w", layer: "l", dataset: "d", kind: "k", StoredStatistics(json: "{}"))
        let handle = try store.addHandle(kind: "k", images: array(2), labels: [0], provenance: "{}")
        let cleared = try store.clear(Store.tables(named: ["cache"]))
        XCTAssertEqual(cleared.map(\.table), [.activations, .statistics])
        XCTAssertEqual(cleared.map(\.rows), [1, 1])
        let stats = try store.stats()
        XCTAssertEqual(stats.tables.map(\.rows), [0, 0, 1, 0])
        XCTAssertNotNil(try store.handle(handle))
        XCTAssertEqual(stats.totalBytes, stats.tables[2].bytes)
        XCTAssertThrowsError(try Store.tables(named: ["bogus"])) { XCTAssertTrue("\($0)".contains("bogus")) }
        try store.clear(Store.tables(named: ["all"]))
        XCTAssertEqual(try store.stats().totalBytes, 0)
        XCTAssertEqual(try store.integrityCheck(), "ok")
    }

    func testSharedStoreIsOnePerFile() throws {
        let a = try Store.shared(path: dbPath)
        let b = try Store.shared(path: directory.appendingPathComponent("./sub/../cache.sqlite").path)
        XCTAssertTrue(a === b)
        XCTAssertFalse(a === (try Store.shared(path: directory.appendingPathComponent("other.sqlite").path)))
    }

    func testDefaultPathFollowsXDG() {
        XCTAssertEqual(Store.defaultPath(environment: ["XDG_CACHE_HOME": "/x/cache", "HOME": "/home/u"]), "/x/cache/advlens/cache.sqlite")
        XCTAssertEqual(Store.defaultPath(environment: ["HOME": "/home/u"]), "/home/u/.cache/advlens/cache.sqlite")
        // A relative XDG_CACHE_HOME is invalid by the spec and ignored.
        XCTAssertEqual(Store.defaultPath(environment: ["XDG_CACHE_HOME": "rel", "HOME": "/home/u"]), "/home/u/.cache/advlens/cache.sqlite")
    }
}
