import Foundation
import GRDB
@testable import Store
import XCTest

/// The write-ahead log is moved into the file in the background (WALCheckpointer), not inside
/// a commit: the writer's automatic checkpoint is off, and the log still stays bounded.
final class CheckpointTests: StoreTestCase {
    func testCommitsDoNotCheckpointAndTheLogStaysBounded() throws {
        let store = try Store(path: dbPath)
        XCTAssertEqual(try store.pool.write { try Int.fetchOne($0, sql: "PRAGMA wal_autocheckpoint") }, 0)
        let wal = dbPath + "-wal"
        func walBytes() throws -> Int { try FileManager.default.attributesOfItem(atPath: wal)[.size] as? Int ?? -1 }
        var largest = 0
        for i in 0..<16 {   // 16 MiB of results, four times the checkpoint mark
            let images = StoredArray(shape: [1, 1, 512, 512], values: (0..<(1 << 18)).map { Float(($0 + i) % 977) })
            _ = try store.addHandle(kind: "attack fgsm", images: images, labels: [i], provenance: "{}")
            store.checkpointer.drain()
            largest = max(largest, try walBytes())
        }
        // A log that was never checkpointed would hold all 16 MiB.
        XCTAssertLessThan(largest, 8 << 20, "the log reached \(largest) bytes")
        XCTAssertEqual(try store.handles().count, 16)
        XCTAssertEqual(try store.handles().map(\.labels), (0..<16).map { [$0] })
    }
}
