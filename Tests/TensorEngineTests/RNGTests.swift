import XCTest
@testable import TensorEngine

final class RNGTests: XCTestCase {
    /// The documented algorithm: SplitMix64 seeding, then xoshiro256**. These values pin it, so
    /// a change to the generator (which would change every seeded run) fails here.
    func testFirstOutputsArePinned() {
        var rng = SeededRNG(seed: 0)
        let first = (0..<3).map { _ in rng.next() }
        // Computed by a separate Python transcription of the published SplitMix64 and
        // xoshiro256** reference code.
        XCTAssertEqual(first, [11_091_344_671_253_066_420, 13_793_997_310_169_335_082, 1_900_383_378_846_508_768])
    }

    func testSameSeedSameStreamOtherSeedOtherStream() {
        var a = SeededRNG(seed: 42), b = SeededRNG(seed: 42), c = SeededRNG(seed: 43)
        let sa = (0..<100).map { _ in a.nextFloat() }, sb = (0..<100).map { _ in b.nextFloat() }
        let sc = (0..<100).map { _ in c.nextFloat() }
        XCTAssertEqual(sa, sb)
        XCTAssertNotEqual(sa, sc)
        XCTAssertTrue(sa.allSatisfy { $0 >= 0 && $0 < 1 })
    }

    func testBoundedIntegersAreUniformAndInRange() {
        var rng = SeededRNG(seed: 5)
        var counts = [Int](repeating: 0, count: 7)
        for _ in 0..<70_000 { counts[rng.next(below: 7)] += 1 }
        for c in counts { XCTAssertEqual(Double(c), 10_000, accuracy: 400) }
    }

    func testNormalMoments() {
        var rng = SeededRNG(seed: 9)
        let xs = (0..<50_000).map { _ in Double(rng.nextNormal()) }
        let mean = xs.reduce(0, +) / Double(xs.count)
        let variance = xs.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(xs.count)
        XCTAssertEqual(mean, 0, accuracy: 0.02)
        XCTAssertEqual(variance, 1, accuracy: 0.03)
    }

    func testPermutationIsAPermutation() {
        var rng = SeededRNG(seed: 3)
        let p = rng.permutation(1000)
        XCTAssertEqual(p.sorted(), Array(0..<1000))
        XCTAssertNotEqual(p, Array(0..<1000))
    }
}
