import Foundation
import XCTest
@testable import Store

/// A fresh temporary directory per test, removed afterwards; stores never touch ~/.cache.
class StoreTestCase: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("advlens-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    var dbPath: String { directory.appendingPathComponent("cache.sqlite").path }

    /// An array whose values name it, so a mix-up between rows shows.
    func array(_ tag: Int, count: Int = 100, shape: [Int]? = nil) -> StoredArray {
        StoredArray(shape: shape ?? [count], values: (0..<count).map { Float(tag) + Float($0) / 1000 })
    }
}
