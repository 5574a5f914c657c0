import Interpret
import XCTest

/// r(x*) on hand-placed feature vectors, and its distribution.
final class RepresentationTests: XCTestCase {
    func testRatioOnHandPlacedFeatures() {
        // 2-D features. x*0 = (1, 0) from x = (0, 0), target 1: real of class 1 at (3, 0) and
        // (1, 2) are both 2 away: r = 1 / 2. x*1 = (0, 3) from (0, 0) target 1: nearest (1, 2) at
        // sqrt 2: r = 3 / sqrt 2. x*2 targets class 2, which has no real image: undefined.
        let s = RepresentationConsistency.ratios(adversarial: [1, 0, 0, 3, 5, 5], sources: [0, 0, 0, 0, 5, 5], targets: [1, 1, 2],
                                                 real: [3, 0, 1, 2, 0, 0], realLabels: [1, 1, 0], dimension: 2)
        XCTAssertEqual(s[0].ratio!, 0.5, accuracy: 1e-6)
        XCTAssertEqual(s[0].toSource, 1)
        XCTAssertEqual(s[0].toTargetClass!, 2, accuracy: 1e-6)
        XCTAssertEqual(s[1].ratio!, 3 / Float(2).squareRoot(), accuracy: 1e-5)
        XCTAssertNil(s[2].ratio)
        XCTAssertNil(s[2].toTargetClass)
        let summary = RepresentationConsistency.summary(s)
        XCTAssertEqual(summary.undefined, 1)
        XCTAssertEqual(summary.fractionBelowOne, 0.5)
        XCTAssertEqual(summary.distribution?.count, 2)
    }

    func testDistributionMatchesNumpy() {
        // numpy: mean 2.5, median 2.5, percentile 25 = 1.75, 90 = 3.7.
        let d = Distribution([4, 1, 3, 2], bins: 3)!
        XCTAssertEqual(d.mean, 2.5)
        XCTAssertEqual(d.median, 2.5)
        XCTAssertEqual(d.quantiles.first { $0.q == 0.25 }!.value, 1.75, accuracy: 1e-6)
        XCTAssertEqual(d.quantiles.first { $0.q == 0.9 }!.value, 3.7, accuracy: 1e-6)
        XCTAssertEqual(d.binEdges, [1, 2, 3, 4])
        XCTAssertEqual(d.binCounts, [1, 1, 2])
        XCTAssertNil(Distribution([]))
    }
}
