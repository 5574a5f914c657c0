import Interpret
import XCTest

/// p_real / p_adv_true / p_adv_target, CS1, CS2 and LC on hand-made histograms.
final class ClassHistogramTests: XCTestCase {
    func testHistogramIsNormalisedAndIgnoresUnknownLabels() {
        XCTAssertEqual(ClassHistograms.histogram([0, 0, 1, 2], classes: 3), [0.5, 0.25, 0.25])
        XCTAssertEqual(ClassHistograms.histogram([2, 7, -1], classes: 3), [0, 0, 1])
        XCTAssertEqual(ClassHistograms.histogram([], classes: 2), [0, 0])
    }

    func testCosineAndConsistencyLevel() {
        XCTAssertEqual(ClassHistograms.cosine([1, 0, 0], [1, 0, 0]), 1)
        XCTAssertEqual(ClassHistograms.cosine([1, 0, 0], [0, 0.5, 0.5]), 0)
        // [.5, .5, 0] . [0, 1, 0] / (sqrt(.5) * 1) = sqrt(.5).
        XCTAssertEqual(ClassHistograms.cosine([0.5, 0.5, 0], [0, 1, 0]), Float(0.5).squareRoot(), accuracy: 1e-6)
        XCTAssertEqual(ClassHistograms.cosine([0, 0], [1, 0]), 0)
        // Identity: the purity sum.
        XCTAssertEqual(ClassHistograms.consistencyLevel([0.5, 0.5, 0], similarity: nil), 0.5)
        XCTAssertEqual(ClassHistograms.consistencyLevel([1, 0, 0], similarity: nil), 1)
        // Classes 0 and 1 half-similar: .25 + 2 * .25 * .5 + .25 = .75.
        let a: [Float] = [1, 0.5, 0, 0.5, 1, 0, 0, 0, 1]
        XCTAssertEqual(ClassHistograms.consistencyLevel([0.5, 0.5, 0], similarity: a), 0.75, accuracy: 1e-6)
        XCTAssertEqual(ClassHistograms.consistencyLevel([0.5, 0, 0.5], similarity: a), 0.5, accuracy: 1e-6)
    }

    /// One unit, four real and four adversarial images: the top 2 real are images 0 and 2
    /// (labels 0, 0); the top 2 adversarial are 3 and 1 (sources 0 and 1, targets 2 and 2).
    func testConsistencyFromActivations() {
        let real = LayerActivations(layer: "t", reduction: .max, count: 4, units: 1, mapHeight: 1, mapWidth: 1,
                                    values: [3, 1, 2, 0], argmax: [0, 0, 0, 0])
        let adv = LayerActivations(layer: "t", reduction: .max, count: 4, units: 1, mapHeight: 1, mapWidth: 1,
                                   values: [0, 5, 1, 7], argmax: [0, 0, 0, 0])
        let r = ClassHistograms.consistency(real: real, realLabels: [0, 1, 0, 2], adversarial: adv,
                                            advSourceLabels: [1, 1, 0, 0], advTargetLabels: [0, 2, 1, 2],
                                            units: [0], k: 2, classes: 3, similarity: nil)[0]
        XCTAssertEqual(r.pReal, [1, 0, 0])
        XCTAssertEqual(r.pAdvTrue, [0.5, 0.5, 0])
        XCTAssertEqual(r.pAdvTarget, [0, 0, 1])
        XCTAssertEqual(r.cs1, Float(0.5).squareRoot(), accuracy: 1e-6)
        XCTAssertEqual(r.cs2, 0)
        XCTAssertEqual(r.lc, 1)
    }

    func testSimilarityMatrixChoiceAndChecks() throws {
        XCTAssertNil(try ClassHistograms.similarity(requested: nil, dataset: nil, classes: 2))
        XCTAssertEqual(try ClassHistograms.similarity(requested: nil, dataset: [1, 0, 0, 1], classes: 2), [1, 0, 0, 1])
        XCTAssertEqual(try ClassHistograms.similarity(requested: [1, 1, 1, 1], dataset: [1, 0, 0, 1], classes: 2), [1, 1, 1, 1])
        XCTAssertThrowsError(try ClassHistograms.similarity(requested: [1, 0, 0], dataset: nil, classes: 2)) {
            XCTAssertTrue("\($0)".contains("4"), "\($0)")
        }
    }

    func testTopActivationsGiveTheArgmaxLocation() {
        // 3 images, 2 units, maps 3 wide: unit 1's best is image 2 at flat position 5 = (1, 2).
        let a = LayerActivations(layer: "t", reduction: .max, count: 3, units: 2, mapHeight: 2, mapWidth: 3,
                                 values: [1, 4, 2, 4, 0, 9], argmax: [0, 1, 2, 3, 4, 5])
        XCTAssertEqual(TopActivations.top(a, unit: 1, k: 2), [
            TopActivations.Entry(image: 2, value: 9, y: 1, x: 2),
            TopActivations.Entry(image: 0, value: 4, y: 0, x: 1),
        ])
        // Ties keep the lower index first; k larger than the set gives the whole set.
        XCTAssertEqual(TopActivations.top(a, unit: 0, k: 5).map(\.image), [1, 0, 2])
    }

    /// A unit fires when some image puts it above zero; a silent unit (all zeros, its "top"
    /// ties in index order) is marked so summaries leave it out.
    func testSilentUnitsAreMarkedAndLeftOutOfTheStatistics() {
        // Unit 0 fires on both sets; unit 1 never on the adversarial set; unit 2 never on either.
        let real = LayerActivations(layer: "t", reduction: .max, count: 3, units: 3, mapHeight: 1, mapWidth: 1,
                                    values: [0.5, 0.2, 0, 0, 0.9, 0, 0.1, 0, 0], argmax: nil)
        let adv = LayerActivations(layer: "t", reduction: .max, count: 2, units: 3, mapHeight: 1, mapWidth: 1,
                                   values: [0.3, 0, 0, 0, -0.5, 0], argmax: nil)
        XCTAssertEqual((0..<3).map { TopActivations.fires(real, unit: $0) }, [true, true, false])
        XCTAssertEqual((0..<3).map { TopActivations.fires(adv, unit: $0) }, [true, false, false])
        let rows = ClassHistograms.consistency(real: real, realLabels: [0, 1, 2], adversarial: adv, advSourceLabels: [0, 1],
                                               advTargetLabels: [2, 2], units: [0, 1, 2], k: 1, classes: 3, similarity: nil)
        XCTAssertEqual(rows.map(\.firing), [true, false, false])
        let firing = ClassHistograms.Statistics(rows.filter(\.firing)), all = ClassHistograms.Statistics(rows)
        XCTAssertEqual(firing.units, 1)
        XCTAssertEqual(firing.meanCS1, rows[0].cs1)
        XCTAssertEqual(all.units, 3)
        XCTAssertEqual(all.meanCS1!, rows.map(\.cs1).reduce(0, +) / 3, accuracy: 1e-6)
        let none = ClassHistograms.Statistics([])
        XCTAssertEqual(none.units, 0)
        XCTAssertNil(none.meanCS1)
        XCTAssertNil(none.medianLC)
    }
}
