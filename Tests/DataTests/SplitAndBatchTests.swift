/// Stratified splits of the real 5k file, and seeded epoch-aware batches.
import XCTest
import TensorEngine
import Data

final class SplitAndBatchTests: XCTestCase {
    func testStratifiedSplitOfRealFile() throws {
        let ds = try MNISTCSV.load(path: try mnist5kPath())
        let (train, test) = try StratifiedSplit.split(labels: ds.labels, testPerClass: 100, seed: 7)
        XCTAssertEqual(train.count, 4000)
        XCTAssertEqual(test.count, 1000)
        XCTAssertEqual(train, train.sorted())
        XCTAssertEqual(test, test.sorted())
        XCTAssertTrue(Set(train).isDisjoint(with: test))
        XCTAssertEqual(Set(train).union(test), Set(0..<5000))
        XCTAssertEqual(ds.subset(test).classCounts, [Int](repeating: 100, count: 10))
        XCTAssertEqual(ds.subset(train).classCounts, [Int](repeating: 400, count: 10))

        let again = try StratifiedSplit.split(labels: ds.labels, testPerClass: 100, seed: 7)
        XCTAssertEqual(again.train, train)
        XCTAssertEqual(again.test, test)
        let other = try StratifiedSplit.split(labels: ds.labels, testPerClass: 100, seed: 8)
        XCTAssertNotEqual(other.test, test)
        XCTAssertEqual(other.test.count, 1000)

        let byFraction = try StratifiedSplit.split(labels: ds.labels, testFraction: 0.2, seed: 7)
        XCTAssertEqual(byFraction.test, test, "20% of 500 is 100, same algorithm and seed")
    }

    func testSplitFollowsTheDocumentedAlgorithm() throws {
        let labels = [2, 0, 1, 0, 2, 1, 0, 2, 1, 0]
        var rng = SeededRNG(seed: 3)
        var expectedTest: [Int] = []
        for c in [0, 1, 2] {
            var idx = labels.indices.filter { labels[$0] == c }
            rng.shuffle(&idx)
            expectedTest += idx.prefix(1)
        }
        let (train, test) = try StratifiedSplit.split(labels: labels, testPerClass: 1, seed: 3)
        XCTAssertEqual(test, expectedTest.sorted())
        XCTAssertEqual(train, Array(Set(0..<10).subtracting(test)).sorted())
        // Rounding per class: 0.5 of 4 = 2, of 3 = 1.5 -> 2.
        XCTAssertEqual(try StratifiedSplit.split(labels: labels, testFraction: 0.5, seed: 1).test.count, 6)
    }

    /// Split order version 2 (dataset/load's default) on the real file: a permutation of the
    /// version-1 parts in which every run of 10 consecutive images holds one of each digit, made
    /// by the documented algorithm (each class shuffled with one generator in label order, then
    /// one of every class per round).
    func testInterleavedOrderOfTheRealFile() throws {
        let ds = try MNISTCSV.load(path: try mnist5kPath())
        let (train, test) = try StratifiedSplit.split(labels: ds.labels, testPerClass: 100, seed: 0)
        for part in [train, test] {
            let order = StratifiedSplit.interleaved(part, labels: ds.labels, seed: 0)
            XCTAssertEqual(order.sorted(), part, "the same images, reordered")
            XCTAssertEqual(order.map { ds.labels[$0] }, (0..<part.count).map { $0 % 10 }, "position i holds class i mod 10")
            XCTAssertEqual(StratifiedSplit.interleaved(part, labels: ds.labels, seed: 0), order, "same seed, same order")
            XCTAssertNotEqual(StratifiedSplit.interleaved(part, labels: ds.labels, seed: 1), order, "another seed, another order")
        }
        var rng = SeededRNG(seed: 0)
        var groups = (0..<10).map { c in test.filter { ds.labels[$0] == c } }
        for k in groups.indices { rng.shuffle(&groups[k]) }
        XCTAssertEqual(StratifiedSplit.interleaved(test, labels: ds.labels, seed: 0),
                       (0..<100).flatMap { round in groups.map { $0[round] } })
    }

    /// Unequal classes: rounds skip a class once it has run out, and the first K images still
    /// hold one of each of the K classes.
    func testInterleavedOrderWithUnequalClasses() {
        let labels = [1, 1, 1, 1, 0, 2, 2, 0, 1, 2]
        let order = StratifiedSplit.interleaved(Array(labels.indices), labels: labels, seed: 4)
        XCTAssertEqual(order.sorted(), Array(labels.indices))
        XCTAssertEqual(order.map { labels[$0] }, [0, 1, 2, 0, 1, 2, 1, 2, 1, 1])
        XCTAssertEqual(StratifiedSplit.interleaved([], labels: labels, seed: 4), [])
        XCTAssertEqual(StratifiedSplit.interleaved([8, 3], labels: labels, seed: 4).sorted(), [3, 8], "one class: a shuffle of it")
    }

    func testSplitErrors() {
        assertDataError(try StratifiedSplit.split(labels: [0, 0, 1], testPerClass: 1, seed: 0), mentions: ["class 1 has 1 items"])
        assertDataError(try StratifiedSplit.split(labels: [0], testPerClass: -1, seed: 0), mentions: ["testPerClass"])
        assertDataError(try StratifiedSplit.split(labels: [0], testFraction: 1.5, seed: 0), mentions: ["testFraction"])
    }

    func testBatchesCoverEveryItemOncePerEpoch() {
        let b = Batches(count: 10, batchSize: 3, shuffle: true, seed: 42, dropLast: false)
        let batches = Array(b)
        XCTAssertEqual(batches.map(\.count), [3, 3, 3, 1])
        XCTAssertEqual(b.batchCount, 4)
        XCTAssertEqual(batches.flatMap { $0 }.sorted(), Array(0..<10))
        XCTAssertEqual(batches.flatMap { $0 }, b.order)
        XCTAssertEqual(Array(b), batches, "same seed and epoch: same batches")
        XCTAssertNotEqual(Array(b.forEpoch(1)).flatMap { $0 }, b.order, "another epoch: another order")
        XCTAssertEqual(Array(b.forEpoch(1)), Array(Batches(count: 10, batchSize: 3, seed: 42, epoch: 1)))
        XCTAssertNotEqual(Array(Batches(count: 10, batchSize: 3, seed: 43)), batches)
        XCTAssertEqual(b.order, SeededRNG(seed: Batches.epochSeed(42, epoch: 0)).permutationCopy(10))
    }

    func testBatchesDropLastAndNoShuffle() {
        let d = Batches(count: 10, batchSize: 3, shuffle: false, seed: 0, dropLast: true)
        XCTAssertEqual(Array(d), [[0, 1, 2], [3, 4, 5], [6, 7, 8]])
        XCTAssertEqual(d.batchCount, 3)
        XCTAssertEqual(Array(Batches(count: 0, batchSize: 4)), [])
        XCTAssertEqual(Array(Batches(count: 2, batchSize: 4, dropLast: true)), [])
        XCTAssertEqual(Array(Batches(count: 4, batchSize: 4, shuffle: false)), [[0, 1, 2, 3]])
    }
}

extension SeededRNG {
    fileprivate func permutationCopy(_ n: Int) -> [Int] {
        var copy = self
        return copy.permutation(n)
    }
}
