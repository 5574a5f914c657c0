import XCTest
@testable import Attacks

/// An attack's gradient passes split a batch into chunks (`ChunkSizer.ranges`): under the
/// model's limit, as few chunks as cover the batch, of equal sizes (a short last chunk ran its
/// products at half the columns); at a size a caller fixes, exactly that size. Either way the
/// chunks cover the batch in order, once.
final class ChunkRangesTests: XCTestCase {
    func testBalancedChunksAreFewEqualAndCoverTheBatch() {
        for n in [1, 7, 8, 48, 49, 64, 100, 256, 1000] {
            for limit in [1, 8, 48, 64, 136, 1024] {
                let ranges = ChunkSizer.ranges(n, size: nil, balancedWithin: limit)
                XCTAssertEqual(ranges.count, (n + limit - 1) / limit, "n \(n) limit \(limit): as few as cover it")
                XCTAssertEqual(ranges.first?.lowerBound, 0)
                XCTAssertEqual(ranges.last?.upperBound, n)
                for (a, b) in zip(ranges, ranges.dropFirst()) { XCTAssertEqual(a.upperBound, b.lowerBound) }
                let sizes = ranges.map(\.count)
                XCTAssertLessThanOrEqual(sizes.max()!, limit, "n \(n) limit \(limit)")
                XCTAssertLessThanOrEqual(sizes.max()! - sizes.min()!, 1, "n \(n) limit \(limit): equal sizes")
            }
        }
        XCTAssertEqual(ChunkSizer.ranges(64, size: nil, balancedWithin: 48), [0..<32, 32..<64])
    }

    func testAFixedSizeIsKept() {
        XCTAssertEqual(ChunkSizer.ranges(64, size: 48, balancedWithin: 8), [0..<48, 48..<64])
        XCTAssertEqual(ChunkSizer.ranges(10, size: 5, balancedWithin: 1024), [0..<5, 5..<10])
        XCTAssertEqual(ChunkSizer.ranges(3, size: 16, balancedWithin: 1), [0..<3])
    }
}
