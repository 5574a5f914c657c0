import Data
import TensorEngine

/// Network-Dissection concept alignment (Bau et al. 2017; PAPER.md §3): each unit's maps,
/// upsampled to the masks' resolution, are thresholded at the unit's top-`quantile` level over
/// the whole dataset; the IoU of that region with each concept's masks, summed over the
/// dataset, labels the unit with its best concept, a "detector" when IoU >= `iouThreshold`.
public enum Dissection {
    public static let defaultQuantile: Float = 0.005
    public static let defaultIoUThreshold: Float = 0.04

    /// Each unit's highest `keep` values over streamed full maps, highest first: what a
    /// threshold needs, and what each shard of a sharded dissection returns (probe param
    /// `topValues`), since the merged shards' lists hold the whole set's top `keep` values.
    /// Keeps at most ~4 x `keep` values per unit at a time.
    public struct TopValues {
        public let units: [Int]
        public let keep: Int
        var top: [[Float]]
        /// Values per unit seen so far (images x map positions).
        public private(set) var seen = 0

        public init(units: [Int], keep: Int) {
            precondition(keep > 0, "TopValues: keep at least one value")
            self.units = units
            self.keep = keep
            top = Array(repeating: [], count: units.count)
        }

        public mutating func add(_ maps: LayerActivations) {
            precondition(maps.reduction == .none, "TopValues needs full maps")
            for (slot, u) in units.enumerated() {
                for i in 0..<maps.count { top[slot] += maps.map(image: i, unit: u) }
                if top[slot].count > 4 * keep + 4096 { prune(slot) }
            }
            seen += maps.count * maps.mapHeight * maps.mapWidth
        }

        private mutating func prune(_ slot: Int) {
            top[slot].sort(by: >)
            top[slot].removeLast(max(0, top[slot].count - keep))
        }

        /// Per unit (in `units` order) its `keep` highest values, or all it saw when fewer, highest first.
        public mutating func values() -> [[Float]] {
            for slot in units.indices { prune(slot) }
            return top
        }
    }

    /// How many of a unit's highest values its threshold reads: those from the (1 - quantile)
    /// quantile's lower order statistic up.
    public static func valuesNeeded(total: Int, quantile: Float) -> Int {
        total - Int((Double(1 - quantile) * Double(total - 1)).rounded(.down))
    }

    /// The (1 - quantile) quantile of `total` values of which `descending` holds at least the
    /// highest `valuesNeeded(total:quantile:)`, highest first: linear interpolation between the
    /// order statistics around (1 - quantile) x (total - 1) (numpy's default), the position in
    /// Double, the interpolation in Float. One definition for one daemon and for the merged
    /// shards of a sharded dissection (advlens.distributed computes it the same way).
    public static func threshold(descending: [Float], total: Int, quantile: Float) -> Float {
        let position = Double(1 - quantile) * Double(total - 1)
        let lower = Int(position.rounded(.down)), frac = Float(position - Double(lower))
        // Ascending index `lower` is descending index total - 1 - lower.
        let a = descending[total - 1 - lower], b = descending[max(0, total - 2 - lower)]
        return a + frac * (b - a)
    }

    /// Per-unit thresholds from streamed full maps: the (1 - quantile) quantile of all of a unit's
    /// values over all positions of all images (`threshold(descending:total:quantile:)`).
    /// Keeps only each unit's top values, so memory is ~quantile x the values seen.
    public struct ThresholdAccumulator {
        public let units: [Int]
        public let quantile: Float
        /// Values per unit over the whole dataset.
        public let total: Int
        var top: TopValues

        public init(units: [Int], valuesPerUnit total: Int, quantile: Float) {
            precondition(total > 0 && quantile >= 0 && quantile < 1, "ThresholdAccumulator: bad total or quantile")
            self.units = units
            self.quantile = quantile
            self.total = total
            top = TopValues(units: units, keep: Dissection.valuesNeeded(total: total, quantile: quantile))
        }

        public mutating func add(_ maps: LayerActivations) { top.add(maps) }

        /// The thresholds, in `units` order.
        public mutating func thresholds() -> [Float] {
            precondition(top.seen == total, "ThresholdAccumulator: saw \(top.seen) values per unit, expected \(total)")
            return top.values().map { Dissection.threshold(descending: $0, total: total, quantile: quantile) }
        }
    }

    /// Bilinear upsampling weights along one axis, with PyTorch's align_corners=False
    /// convention (F.interpolate(mode="bilinear", align_corners=False)): output pixel o reads
    /// source position (o + 0.5) * in / out - 0.5, clamped at 0.
    public static func bilinearTaps(from n: Int, to m: Int) -> [(Int, Int, Float)] {
        let scale = Float(n) / Float(m)
        return (0..<m).map { o in
            let src = max(0, (Float(o) + 0.5) * scale - 0.5)
            let i0 = min(Int(src), n - 1), i1 = min(i0 + 1, n - 1)
            return (i0, i1, src - Float(i0))
        }
    }

    /// A map of h x w upsampled to the taps' size.
    public static func upsample(_ map: ArraySlice<Float>, width w: Int, rows: [(Int, Int, Float)], cols: [(Int, Int, Float)]) -> [Float] {
        let base = map.startIndex
        var out = [Float](repeating: 0, count: rows.count * cols.count)
        for (oy, (y0, y1, ly)) in rows.enumerated() {
            for (ox, (x0, x1, lx)) in cols.enumerated() {
                let top = (1 - lx) * map[base + y0 * w + x0] + lx * map[base + y0 * w + x1]
                let bottom = (1 - lx) * map[base + y1 * w + x0] + lx * map[base + y1 * w + x1]
                out[oy * cols.count + ox] = (1 - ly) * top + ly * bottom
            }
        }
        return out
    }

    /// Sums, over images, of each (unit, concept)'s intersection and of each side's area, so the
    /// dataset-level IoU = I / (A + M - I) needs no per-image storage.
    public struct IoUAccumulator {
        public let units: [Int]
        public let thresholds: [Float]
        public let concepts: Int
        public let height: Int, width: Int
        public private(set) var intersections: [Int]
        public private(set) var activeArea: [Int]
        public private(set) var maskArea: [Int]

        public init(units: [Int], thresholds: [Float], concepts: Int, height: Int, width: Int) {
            precondition(units.count == thresholds.count, "IoUAccumulator: one threshold per unit")
            self.units = units
            self.thresholds = thresholds
            self.concepts = concepts
            self.height = height
            self.width = width
            intersections = [Int](repeating: 0, count: units.count * concepts)
            activeArea = [Int](repeating: 0, count: units.count)
            maskArea = [Int](repeating: 0, count: concepts)
        }

        /// Adds a batch of full maps; `maskImages[i]` is the masks' image index for map image i.
        /// Each unit's region above its threshold is packed into bits like the masks, so an
        /// intersection is a popcount over words, taken only with the concepts the image shows.
        public mutating func add(_ maps: LayerActivations, masks: ConceptMasks, maskImages: [Int]) {
            precondition(maps.reduction == .none && maskImages.count == maps.count, "IoUAccumulator.add: full maps, one mask image each")
            precondition(masks.height == height && masks.width == width && masks.conceptCount == concepts, "IoUAccumulator.add: mask geometry differs")
            let rows = Dissection.bilinearTaps(from: maps.mapHeight, to: height)
            let cols = Dissection.bilinearTaps(from: maps.mapWidth, to: width)
            let wordCount = masks.wordsPerMask
            var active = [UInt64](repeating: 0, count: wordCount)
            for i in 0..<maps.count {
                let entries = masks.entries(image: maskImages[i])
                for e in entries { maskArea[e.concept] += e.area }
                for (slot, u) in units.enumerated() {
                    let up = Dissection.upsample(maps.map(image: i, unit: u), width: maps.mapWidth, rows: rows, cols: cols)
                    let t = thresholds[slot]
                    for k in 0..<wordCount { active[k] = 0 }
                    var count = 0
                    for p in up.indices where up[p] > t {
                        active[p >> 6] |= 1 << UInt64(p & 63)
                        count += 1
                    }
                    guard count > 0 else { continue }
                    activeArea[slot] += count
                    for e in entries {
                        var inter = count
                        if let w = e.words {
                            inter = 0
                            let base = w.startIndex
                            for k in 0..<wordCount { inter += (active[k] & w[base + k]).nonzeroBitCount }
                        }
                        intersections[slot * concepts + e.concept] += inter
                    }
                }
            }
        }

        /// IoU of unit slot `slot` with concept `c` (0 when both areas are empty).
        public func iou(slot: Int, concept c: Int) -> Float {
            let i = intersections[slot * concepts + c]
            let union = activeArea[slot] + maskArea[c] - i
            return union == 0 ? 0 : Float(i) / Float(union)
        }
    }

    /// One unit's label.
    public struct UnitLabel: Equatable, Sendable {
        public var unit: Int
        public var threshold: Float
        /// The best concept's index and its IoU.
        public var concept: Int
        public var iou: Float
        public var detector: Bool
        /// IoU with every concept, in the masks' concept order.
        public var ious: [Float]
    }

    /// Each unit's best concept (lowest index on ties).
    public static func labels(_ acc: IoUAccumulator, iouThreshold: Float) -> [UnitLabel] {
        acc.units.enumerated().map { slot, u in
            let ious = (0..<acc.concepts).map { acc.iou(slot: slot, concept: $0) }
            var best = 0
            for c in ious.indices where ious[c] > ious[best] { best = c }
            return UnitLabel(unit: u, threshold: acc.thresholds[slot], concept: best, iou: ious[best],
                             detector: ious[best] >= iouThreshold, ious: ious)
        }
    }

    /// Detectors per concept kind: how many units, and how many distinct concepts.
    public struct KindCount: Equatable, Sendable {
        public var kind: String
        public var detectors: Int
        public var uniqueConcepts: Int
        public init(kind: String, detectors: Int, uniqueConcepts: Int) {
            self.kind = kind
            self.detectors = detectors
            self.uniqueConcepts = uniqueConcepts
        }
    }

    public struct Summary: Equatable, Sendable {
        public var units: Int
        public var detectors: Int
        /// Distinct concepts among the detectors' labels.
        public var uniqueConcepts: Int
        public var byKind: [KindCount]
    }

    public static func summary(_ labels: [UnitLabel], masks: ConceptMasks) -> Summary {
        let detectors = labels.filter(\.detector)
        var kinds: [String] = []
        for k in masks.kinds where !kinds.contains(k) { kinds.append(k) }
        let byKind = kinds.compactMap { kind -> KindCount? in
            let d = detectors.filter { masks.kinds[$0.concept] == kind }
            return d.isEmpty ? nil : KindCount(kind: kind, detectors: d.count, uniqueConcepts: Set(d.map(\.concept)).count)
        }
        return Summary(units: labels.count, detectors: detectors.count, uniqueConcepts: Set(detectors.map(\.concept)).count, byKind: byKind)
    }

    /// The whole analysis for `units` of `layer` on `images`, whose masks are
    /// `masks` image `maskImages[i]`: thresholds in a first pass, IoU in a second. Full maps
    /// are kept between the passes when they fit in `keepBytes`, else computed again.
    /// `thresholds` given (e.g. a real set's, applied to adversarial images) skips the first pass.
    public static func dissect(_ source: ActivationSource, layer: String, images: Tensor, masks: ConceptMasks,
                               maskImages: [Int], units: [Int], quantile: Float = defaultQuantile,
                               iouThreshold: Float = defaultIoUThreshold, thresholds given: [Float]? = nil,
                               keepBytes: Int = 256 << 20) throws -> [UnitLabel] {
        labels(try overlaps(source, layer: layer, images: images, masks: masks, maskImages: maskImages, units: units,
                            quantile: quantile, thresholds: given, keepBytes: keepBytes), iouThreshold: iouThreshold)
    }

    /// `dissect`'s summed intersections and areas (before labelling): what a shard of a
    /// sharded dissection reports, so that the shards' sums add up to the whole set's.
    public static func overlaps(_ source: ActivationSource, layer: String, images: Tensor, masks: ConceptMasks,
                                maskImages: [Int], units: [Int], quantile: Float = defaultQuantile,
                                thresholds given: [Float]? = nil, keepBytes: Int = 256 << 20) throws -> IoUAccumulator {
        precondition(maskImages.count == images.batch, "dissect: one mask image per image")
        precondition(given == nil || given!.count == units.count, "dissect: one threshold per unit")
        let g = try ActivationSource.geometry(of: layer, in: source.model)
        var thresholds = ThresholdAccumulator(units: units, valuesPerUnit: images.batch * g.height * g.width, quantile: quantile)
        let fits = given == nil && images.batch * g.units * g.height * g.width * 4 <= keepBytes
        var kept: [LayerActivations] = []
        if given == nil {
            try source.forEachBatch(layer: layer, images: images, reduction: .none) { _, maps in
                thresholds.add(maps)
                if fits { kept.append(maps) }
            }
        }
        var acc = IoUAccumulator(units: units, thresholds: given ?? thresholds.thresholds(), concepts: masks.conceptCount,
                                 height: masks.height, width: masks.width)
        if fits {
            var start = 0
            for maps in kept {
                acc.add(maps, masks: masks, maskImages: Array(maskImages[start..<start + maps.count]))
                start += maps.count
            }
        } else {
            try source.forEachBatch(layer: layer, images: images, reduction: .none) { range, maps in
                acc.add(maps, masks: masks, maskImages: Array(maskImages[range]))
            }
        }
        return acc
    }

    /// The first pass of a sharded dissection: each unit's `keep` highest map values on
    /// `images` (fewer when the images have fewer), highest first, and how many values per unit
    /// there were (images x map positions).
    public static func topValues(_ source: ActivationSource, layer: String, images: Tensor, units: [Int],
                                 keep: Int) throws -> (values: [[Float]], valuesPerUnit: Int) {
        let g = try ActivationSource.geometry(of: layer, in: source.model)
        let total = images.batch * g.height * g.width
        var top = TopValues(units: units, keep: max(1, min(keep, total)))
        try source.forEachBatch(layer: layer, images: images, reduction: .none) { _, maps in top.add(maps) }
        return (top.values(), total)
    }
}
