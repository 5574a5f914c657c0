import Data
import Interpret
import NN
import TensorEngine
import XCTest

/// Network-Dissection IoU, thresholds and upsampling on hand-made maps with known answers.
final class DissectionTests: XCTestCase {
    /// 4 x 4 masks of one concept per image: a 2 x 2 block at rows 1-2, cols 1-2.
    func blockMasks(images: Int) -> ConceptMasks {
        ConceptMasks(names: ["block"], kinds: ["part"], height: 4, width: 4, bits: Array((0..<images).map { _ in block }.joined()))
    }

    /// The block as 4 x 4 bytes.
    var block: [UInt8] {
        var bits = [UInt8](repeating: 0, count: 16)
        for (y, x) in [(1, 1), (1, 2), (2, 1), (2, 2)] { bits[y * 4 + x] = 1 }
        return bits
    }

    /// Full maps of one unit at the masks' resolution (so upsampling is the identity).
    func maps(_ planes: [[Float]]) -> LayerActivations {
        LayerActivations(layer: "t", reduction: .none, count: planes.count, units: 1, mapHeight: 4, mapWidth: 4,
                         values: planes.flatMap { $0 }, argmax: nil)
    }

    func plane(_ cells: [(Int, Int)]) -> [Float] {
        var p = [Float](repeating: 0, count: 16)
        for (y, x) in cells { p[y * 4 + x] = 1 }
        return p
    }

    func testUnitEqualToTheMaskHasIoUOne() {
        var acc = Dissection.IoUAccumulator(units: [0], thresholds: [0.5], concepts: 1, height: 4, width: 4)
        acc.add(maps([plane([(1, 1), (1, 2), (2, 1), (2, 2)])]), masks: blockMasks(images: 1), maskImages: [0])
        XCTAssertEqual(acc.iou(slot: 0, concept: 0), 1)
    }

    /// Image 0 matches (I 4, A 4, M 4); image 1 is shifted one column right (I 2, A 4, M 4).
    /// Summed over the dataset: I = 6, union = 8 + 8 - 6 = 10, IoU 0.6 (not the mean of 1 and 1/3).
    func testShiftedUnitIoUIsSummedOverTheDataset() {
        var acc = Dissection.IoUAccumulator(units: [0], thresholds: [0.5], concepts: 1, height: 4, width: 4)
        let exact = plane([(1, 1), (1, 2), (2, 1), (2, 2)]), shifted = plane([(1, 2), (1, 3), (2, 2), (2, 3)])
        acc.add(maps([shifted]), masks: blockMasks(images: 1), maskImages: [0])
        XCTAssertEqual(acc.iou(slot: 0, concept: 0), 2.0 / 6.0, accuracy: 1e-6)
        acc.add(maps([exact]), masks: blockMasks(images: 1), maskImages: [0])
        XCTAssertEqual(acc.intersections, [6])
        XCTAssertEqual(acc.activeArea, [8])
        XCTAssertEqual(acc.maskArea, [8])
        XCTAssertEqual(acc.iou(slot: 0, concept: 0), 0.6, accuracy: 1e-6)
        let labels = Dissection.labels(acc, iouThreshold: 0.04)
        XCTAssertEqual(labels[0].concept, 0)
        XCTAssertTrue(labels[0].detector)
        XCTAssertFalse(Dissection.labels(acc, iouThreshold: 0.61)[0].detector)
    }

    /// numpy.percentile(range(10000), 99.5) = 9949.005; the accumulator keeps only the top
    /// values (it prunes on the way) yet gets the same, whatever the order the values arrive in.
    func testThresholdIsTheTopQuantileOverAllPositions() {
        var values = (0..<10_000).map(Float.init)
        var rng = SeededRNG(seed: 3)
        rng.shuffle(&values)
        // 100 images of 10 x 10, two units: unit 1 is unit 0 negated.
        var all = [Float]()
        for i in 0..<100 {
            let chunk = values[(i * 100)..<((i + 1) * 100)]
            all += chunk
            all += chunk.map { -$0 }
        }
        var acc = Dissection.ThresholdAccumulator(units: [0, 1], valuesPerUnit: 10_000, quantile: 0.005)
        for b in 0..<10 {
            acc.add(LayerActivations(layer: "t", reduction: .none, count: 10, units: 2, mapHeight: 10, mapWidth: 10,
                                     values: Array(all[(b * 2000)..<((b + 1) * 2000)]), argmax: nil))
        }
        let t = acc.thresholds()
        XCTAssertEqual(t[0], 9949.005, accuracy: 1e-3)
        // numpy.percentile(-arange(10000), 99.5) = -49.995.
        XCTAssertEqual(t[1], -49.995, accuracy: 1e-3)

        // A sharded dissection's first pass: each half's top values (as many as the whole
        // set's quantile reads), merged, give the same thresholds bit for bit.
        let keep = Dissection.valuesNeeded(total: 10_000, quantile: 0.005)
        XCTAssertEqual(keep, 51)   // 10000 - floor(0.995 x 9999)
        var halves = [Dissection.TopValues(units: [0, 1], keep: keep), Dissection.TopValues(units: [0, 1], keep: keep)]
        for b in 0..<10 {
            halves[b % 2].add(LayerActivations(layer: "t", reduction: .none, count: 10, units: 2, mapHeight: 10, mapWidth: 10,
                                               values: Array(all[(b * 2000)..<((b + 1) * 2000)]), argmax: nil))
        }
        var lists: [[[Float]]] = []
        for h in halves.indices { lists.append(halves[h].values()) }
        XCTAssertEqual(lists.map { $0.map(\.count) }, [[keep, keep], [keep, keep]])
        let merged = (0..<2).map { u in (lists[0][u] + lists[1][u]).sorted(by: >) }
        XCTAssertEqual(merged.map { Dissection.threshold(descending: $0, total: 10_000, quantile: 0.005) }, t)
    }

    /// PyTorch F.interpolate([0, 1] -> 4, mode="linear", align_corners=False) = [0, .25, .75, 1].
    func testBilinearUpsamplingUsesAlignCornersFalse() {
        let taps = Dissection.bilinearTaps(from: 2, to: 4)
        let line = taps.map { (i0, i1, l) in (1 - l) * [Float(0), 1][i0] + l * [Float(0), 1][i1] }
        XCTAssertEqual(line, [0, 0.25, 0.75, 1])
        // 2 x 2 [[0, 1], [2, 3]] -> 4 x 4, row 1 = 0.75 * row0 + 0.25 * row1 of the column-upsampled rows.
        let up = Dissection.upsample([0, 1, 2, 3][...], width: 2, rows: taps, cols: taps)
        XCTAssertEqual(Array(up[0..<4]), [0, 0.25, 0.75, 1])
        XCTAssertEqual(Array(up[4..<8]), [0.5, 0.75, 1.25, 1.5])
        XCTAssertEqual(Array(up[12..<16]), [2, 2.25, 2.75, 3])
    }

    /// End to end through a model: a 1x1 convolution whose unit 0 copies the image and unit 1
    /// negates it, on images that are graded copies of their masks. At quantile 0.5 (more than
    /// half the pixels are 0) unit 0's region is exactly the mask: IoU 1, a detector of the
    /// concept; unit 1 is never above its threshold: IoU 0.
    func testDissectLabelsACopyingUnitWithItsConcept() throws {
        let spec = ModelSpec(name: "copy", input: InputSpec(shape: [1, 4, 4]), classes: ["a", "b"], layers: [
            .conv2d("0", 1, 2, kernel: 1), LayerSpec(name: "1", type: "flatten"), .linear("2", 32, 2),
        ])
        let model = try Model(spec: spec)
        model.initialize(seed: 1)
        model.parameter(named: "0.weight")!.value = Tensor(shape: [2, 1, 1, 1], data: [1, -1])
        model.parameter(named: "0.bias")!.value = Tensor(shape: [2], data: [0, 0])
        // Two concepts: the block, and its complement.
        var bits = [UInt8]()
        var pixels = [Float]()
        for i in 0..<6 {
            bits += block + block.map { 1 - $0 }
            pixels += block.enumerated().map { p, b in Float(b) * (1 + Float((p + i) % 3)) }
        }
        let masks = ConceptMasks(names: ["block", "background"], kinds: ["part", "part"], height: 4, width: 4, bits: bits)
        let source = ActivationSource(model: model, batchSize: 4)
        let labels = try Dissection.dissect(source, layer: "0", images: Tensor(shape: [6, 1, 4, 4], data: pixels), masks: masks,
                                            maskImages: Array(0..<6), units: [0, 1], quantile: 0.5)
        XCTAssertEqual(labels[0].concept, 0)
        XCTAssertEqual(labels[0].iou, 1)
        XCTAssertEqual(labels[0].ious[1], 0)
        XCTAssertTrue(labels[0].detector)
        XCTAssertEqual(labels[1].iou, 0)
        XCTAssertFalse(labels[1].detector)
        let summary = Dissection.summary(labels, masks: masks)
        XCTAssertEqual(summary.detectors, 1)
        XCTAssertEqual(summary.uniqueConcepts, 1)
        XCTAssertEqual(summary.byKind, [Dissection.KindCount(kind: "part", detectors: 1, uniqueConcepts: 1)])
        // The second pass computed again instead of keeping the maps gives the same labels.
        let recomputed = try Dissection.dissect(source, layer: "0", images: Tensor(shape: [6, 1, 4, 4], data: pixels), masks: masks,
                                                maskImages: Array(0..<6), units: [0, 1], quantile: 0.5, keepBytes: 0)
        XCTAssertEqual(recomputed, labels)
        // Given thresholds (a real set's, applied to other images) skip the first pass: with
        // unit 0's threshold raised above every value, its region is empty.
        let given = try Dissection.dissect(source, layer: "0", images: Tensor(shape: [6, 1, 4, 4], data: pixels), masks: masks,
                                           maskImages: Array(0..<6), units: [0], thresholds: [10])
        XCTAssertEqual(given[0].threshold, 10)
        XCTAssertEqual(given[0].iou, 0)
        XCTAssertEqual(try Dissection.dissect(source, layer: "0", images: Tensor(shape: [6, 1, 4, 4], data: pixels), masks: masks,
                                              maskImages: Array(0..<6), units: [0], thresholds: [labels[0].threshold])[0], labels[0])
    }
}
