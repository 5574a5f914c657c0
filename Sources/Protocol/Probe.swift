import Settings

/// `probe`: what the units of one layer respond to, on real images and on adversarial ones
/// (PAPER.md §3). One method, six kinds:
///
/// - `activations`: each unit's value per input (spatial max or mean, or the full maps);
/// - `topActivations`: each unit's top-K inputs with the location of the maximum and its
///   receptive-field box (optionally patch PNGs);
/// - `classHistograms`: p_real (labels of the top-K real images) and, with an adversarial set,
///   p_adv_true and p_adv_target;
/// - `consistency`: those plus CS1, CS2 and LC per unit, with a summary;
/// - `representation`: the distribution of r(x*) over an adversarial set;
/// - `dissect`: Network-Dissection IoU with the concept masks of a dataset that has them.
///
/// The kinds are the daemon's registry (one file each, Server/Handlers/Probe); an unknown one
/// fails as `params.kind: unknown "x"; known: ...`.
public enum Probe: RequestType {
    public static let method = "probe"

    /// A probe kind's wire name, checked against the daemon's registry of kinds.
    public struct Kind: WireName {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
    }

    public struct Params: Codable, Sendable {
        public var model: String
        public var layer: String
        public var kind: Kind
        /// Units (channels of a conv layer, features of a dense one); default all.
        public var units: [Int]?
        /// "max" (default), "mean", or "none" (full maps; activations, representation).
        public var reduction: ActivationReduction?
        /// Top images per unit (default 10).
        public var k: Int?
        /// The real set: a loaded dataset, optionally some of its images.
        public var dataset: DatasetRef?
        /// Or any inputs (activations, topActivations).
        public var inputs: Inputs?
        /// The adversarial set: a kept handle, or attack parameters to make one.
        public var adversarial: AdversarialSet?
        /// Which of its images to analyse: "successful" (default: those whose attack succeeded)
        /// or "all".
        public var adversarials: AdversarialSelection?
        /// Class-similarity matrix A for LC (classes x classes); default the dataset's, else identity.
        public var similarity: [[Float]]?
        /// dissect: a unit's region is where its upsampled map exceeds its top-`quantile`
        /// level over the dataset (default 0.005); a detector has IoU >= `iouThreshold` (default 0.04).
        public var quantile: Float?
        public var iouThreshold: Float?
        /// dissect, the first pass of a sharded dissection: instead of labelling, return each
        /// unit's `topValues` highest map values over the set (result `topValues`); a client that
        /// merges the shards' lists asks for the count the whole set's quantile needs.
        public var topValues: Int?
        /// dissect, the second pass: one threshold per unit (in `units` order), used instead of
        /// computing the quantiles (for the real and the adversarial set).
        public var thresholds: [Float]?
        /// dissect: each report also carries its summed intersections and areas (`counts`),
        /// which add up over shards.
        public var counts: Bool?
        /// topActivations: write a PNG of each top image's receptive-field box.
        public var patches: Bool?
        /// Directory for the patches, inside the workspace root (default "advlens-patches").
        public var patchDirectory: String?
        /// Each patch pixel drawn scale x scale (default 4).
        public var patchScale: Int?
        /// representation: histogram bins (default 10).
        public var bins: Int?
        /// Images per forward pass (default 100).
        public var batchSize: Int?
        /// `base64`: large float arrays (activations' values) as one float32 tensor; default `json`.
        public var arrayEncoding: ArrayEncoding?
        public var workDoneToken: ProgressToken?

        public init(model: String, layer: String, kind: Kind) {
            self.model = model
            self.layer = layer
            self.kind = kind
        }
    }

    public struct DatasetRef: Codable, Sendable, Equatable {
        public var name: String
        public var indices: [Int]?
        /// A seeded sample (of `indices` when given), as in input dataset references.
        public var sample: DatasetSample?
        public init(name: String, indices: [Int]? = nil, sample: DatasetSample? = nil) {
            self.name = name
            self.indices = indices
            self.sample = sample
        }

        enum Keys: String, CodingKey { case name, indices, sample, seed, stratified }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: Keys.self)
            self.init(name: try c.decode(String.self, forKey: .name), indices: try c.decodeIfPresent([Int].self, forKey: .indices),
                      sample: try DatasetSample.decode(from: c, sample: .sample, seed: .seed, stratified: .stratified))
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(name, forKey: .name)
            try c.encodeIfPresent(indices, forKey: .indices)
            try sample?.encode(to: &c, sample: .sample, seed: .seed, stratified: .stratified)
        }
    }

    /// Exactly one of `handle` (a kept attack result, optionally some of its images) or `attack`
    /// (the attack method's params; its model defaults to the probe's, and the result is kept
    /// as a handle that the reply names).
    public struct AdversarialSet: Codable, Sendable {
        public var handle: String?
        public var indices: [Int]?
        public var attack: AttackMethod.Params?
        public init(handle: String? = nil, indices: [Int]? = nil, attack: AttackMethod.Params? = nil) {
            self.handle = handle
            self.indices = indices
            self.attack = attack
        }
    }

    public struct Result: Codable, Sendable {
        public var kind: Kind
        public var model: String
        /// The layer's name as the model names it, and its per-input output shape.
        public var layer: String
        public var layerShape: [Int]
        public var reduction: ActivationReduction?
        public var k: Int?
        /// Images in the real set (or the inputs).
        public var count: Int
        /// The adversarial set used: its handle and the images analysed.
        public var adversarialHandle: String?
        public var adversarialCount: Int?
        /// Images of the set left out because their attack failed (`adversarials: "successful"`).
        public var adversarialExcluded: Int?
        public var activations: ActivationTable?
        public var top: [UnitTop]?
        public var histograms: [UnitHistogram]?
        public var consistencySummary: ConsistencySummary?
        public var representation: Representation?
        public var dissection: Dissection?
        /// dissect with `topValues`: each unit's highest map values.
        public var topValues: UnitTopValues?
        public var elapsedMs: Double

        public init(kind: Kind, model: String, layer: String, layerShape: [Int], count: Int, elapsedMs: Double) {
            self.kind = kind
            self.model = model
            self.layer = layer
            self.layerShape = layerShape
            self.count = count
            self.elapsedMs = elapsedMs
        }
    }

    /// `activations`: one row per input, one column per unit.
    public struct ActivationTable: Codable, Sendable {
        public var units: [Int]
        /// Per input: its dataset index (for a dataset) or position in the inputs.
        public var indices: [Int]
        public var labels: [Int?]
        /// [input][unit] (reductions max and mean); a tensor [inputs, units] with `arrayEncoding: "base64"`.
        public var values: FloatRows?
        /// [input][unit] location of the maximum as [y, x] (reduction max on a conv layer).
        public var locations: [[[Int]]]?
        /// The full maps [inputs, units, H, W] (reduction none).
        public var maps: WireTensor?
        public init(units: [Int], indices: [Int], labels: [Int?]) {
            self.units = units
            self.indices = indices
            self.labels = labels
        }
    }

    public struct Box: Codable, Sendable, Equatable {
        public var top: Int, left: Int, bottom: Int, right: Int
        public init(top: Int, left: Int, bottom: Int, right: Int) {
            self.top = top
            self.left = left
            self.bottom = bottom
            self.right = right
        }
    }

    public struct UnitTop: Codable, Sendable {
        public var unit: Int
        public var top: [TopEntry]
        public init(unit: Int, top: [TopEntry]) {
            self.unit = unit
            self.top = top
        }
    }

    public struct TopEntry: Codable, Sendable {
        /// The image's dataset index (or position in the inputs).
        public var index: Int
        public var label: Int?
        public var value: Float
        /// Location of the maximum in the unit's map.
        public var y: Int
        public var x: Int
        /// The input pixels that location sees (bounds inclusive, clipped to the image).
        public var box: Box
        /// The patch PNG's path, when patches were asked for.
        public var patch: String?
        public init(index: Int, label: Int?, value: Float, y: Int, x: Int, box: Box, patch: String?) {
            self.index = index
            self.label = label
            self.value = value
            self.y = y
            self.x = x
            self.box = box
            self.patch = patch
        }
    }

    public struct UnitHistogram: Codable, Sendable {
        public var unit: Int
        public var cs1: Float?
        public var cs2: Float?
        public var lc: Float?
        public var pReal: [Float]
        public var pAdvTrue: [Float]?
        public var pAdvTarget: [Float]?
        /// With an adversarial set: whether the unit fires on both sets (false: left out of the
        /// consistency summary).
        public var firing: Bool?
        public init(unit: Int, cs1: Float?, cs2: Float?, lc: Float?, pReal: [Float], pAdvTrue: [Float]?, pAdvTarget: [Float]?,
                    firing: Bool? = nil) {
            self.firing = firing
            self.unit = unit
            self.cs1 = cs1
            self.cs2 = cs2
            self.lc = lc
            self.pReal = pReal
            self.pAdvTrue = pAdvTrue
            self.pAdvTarget = pAdvTarget
        }
    }

    /// Means and medians of CS1, CS2 and LC over the units that fire (on at least one real and
    /// one adversarial image); absent when none does. `silentUnits` were left out; `allUnits`
    /// has the same over every unit (a silent unit's "top images" are ties at zero).
    public struct ConsistencySummary: Codable, Sendable {
        public var units: Int
        public var meanCS1: Float?, medianCS1: Float?
        public var meanCS2: Float?, medianCS2: Float?
        public var meanLC: Float?, medianLC: Float?
        public var silentUnits: Int
        public var allUnits: ConsistencyStatistics
        /// "request", "dataset" or "identity".
        public var similarity: String
        public init(firing: ConsistencyStatistics, silentUnits: Int, allUnits: ConsistencyStatistics, similarity: String) {
            units = firing.units
            (meanCS1, medianCS1, meanCS2, medianCS2, meanLC, medianLC) =
                (firing.meanCS1, firing.medianCS1, firing.meanCS2, firing.medianCS2, firing.meanLC, firing.medianLC)
            self.silentUnits = silentUnits
            self.allUnits = allUnits
            self.similarity = similarity
        }
    }

    /// Means and medians of CS1, CS2 and LC over `units` units (absent when there are none).
    public struct ConsistencyStatistics: Codable, Sendable {
        public var units: Int
        public var meanCS1: Float?, medianCS1: Float?
        public var meanCS2: Float?, medianCS2: Float?
        public var meanLC: Float?, medianLC: Float?
        public init(units: Int, meanCS1: Float?, medianCS1: Float?, meanCS2: Float?, medianCS2: Float?, meanLC: Float?, medianLC: Float?) {
            self.units = units
            (self.meanCS1, self.medianCS1, self.meanCS2, self.medianCS2, self.meanLC, self.medianLC) =
                (meanCS1, medianCS1, meanCS2, medianCS2, meanLC, medianLC)
        }
    }

    public struct Quantile: Codable, Sendable {
        public var q: Float
        public var value: Float
        public init(q: Float, value: Float) { self.q = q; self.value = value }
    }

    /// `representation`: r(x*) over the adversarial set.
    public struct Representation: Codable, Sendable {
        /// Adversarial images, and those whose ratio is undefined (no real image of the target class).
        public var count: Int
        public var undefined: Int
        public var fractionBelowOne: Float
        public var mean: Float?
        public var median: Float?
        public var min: Float?
        public var max: Float?
        public var quantiles: [Quantile]
        public var histogramEdges: [Float]
        public var histogramCounts: [Int]
        public var samples: [RepresentationSample]
        public init(count: Int, undefined: Int, fractionBelowOne: Float, quantiles: [Quantile], histogramEdges: [Float],
                    histogramCounts: [Int], samples: [RepresentationSample]) {
            self.count = count
            self.undefined = undefined
            self.fractionBelowOne = fractionBelowOne
            self.quantiles = quantiles
            self.histogramEdges = histogramEdges
            self.histogramCounts = histogramCounts
            self.samples = samples
        }
    }

    public struct RepresentationSample: Codable, Sendable {
        /// Position in the adversarial handle, the input it was made from, its target class.
        public var index: Int
        public var source: Int
        public var target: Int
        public var ratio: Float?
        public var toSource: Float
        public var toTargetClass: Float?
        public init(index: Int, source: Int, target: Int, ratio: Float?, toSource: Float, toTargetClass: Float?) {
            self.index = index
            self.source = source
            self.target = target
            self.ratio = ratio
            self.toSource = toSource
            self.toTargetClass = toTargetClass
        }
    }

    /// `dissect`: unit labels on the real set and, with an adversarial set, on it (with the
    /// real set's thresholds and the masks of each adversarial image's source).
    public struct Dissection: Codable, Sendable {
        public var quantile: Float
        public var iouThreshold: Float
        public var concepts: [String]
        public var real: DissectionReport
        public var adversarial: DissectionReport?
        public init(quantile: Float, iouThreshold: Float, concepts: [String], real: DissectionReport, adversarial: DissectionReport?) {
            self.quantile = quantile
            self.iouThreshold = iouThreshold
            self.concepts = concepts
            self.real = real
            self.adversarial = adversarial
        }
    }

    public struct DissectionReport: Codable, Sendable {
        public var units: [UnitLabel]
        public var detectors: Int
        public var uniqueConcepts: Int
        public var byKind: [KindCount]
        /// With `counts: true`: the sums the IoUs come from.
        public var counts: DissectionCounts?
        public init(units: [UnitLabel], detectors: Int, uniqueConcepts: Int, byKind: [KindCount], counts: DissectionCounts? = nil) {
            self.units = units
            self.detectors = detectors
            self.uniqueConcepts = uniqueConcepts
            self.byKind = byKind
            self.counts = counts
        }
    }

    /// A set's pixel counts at the masks' resolution, summed over its images: per unit and
    /// concept the pixels in both the unit's region and the concept's mask, each unit's region
    /// and each concept's mask. IoU = intersection / (unitArea + conceptArea - intersection), so
    /// the counts of disjoint shards add up to the whole set's.
    public struct DissectionCounts: Codable, Sendable, Equatable {
        /// [unit][concept], units in the report's order, concepts in `dissection.concepts` order.
        public var intersections: [[Int]]
        public var unitArea: [Int]
        public var conceptArea: [Int]
        public init(intersections: [[Int]], unitArea: [Int], conceptArea: [Int]) {
            self.intersections = intersections
            self.unitArea = unitArea
            self.conceptArea = conceptArea
        }
    }

    /// `dissect` with `topValues`: per unit its highest map values over the set, highest first.
    public struct UnitTopValues: Codable, Sendable {
        public var units: [Int]
        /// Values per unit in the set (images x map positions); each row has min(topValues, this).
        public var valuesPerUnit: Int
        /// [unit][rank]; a tensor [units, n] with `arrayEncoding: "base64"`.
        public var values: FloatRows
        public init(units: [Int], valuesPerUnit: Int, values: FloatRows) {
            self.units = units
            self.valuesPerUnit = valuesPerUnit
            self.values = values
        }
    }

    public struct UnitLabel: Codable, Sendable {
        public var unit: Int
        public var label: String
        public var conceptKind: String
        public var iou: Float
        public var detector: Bool
        public var threshold: Float
        public init(unit: Int, label: String, conceptKind: String, iou: Float, detector: Bool, threshold: Float) {
            self.unit = unit
            self.label = label
            self.conceptKind = conceptKind
            self.iou = iou
            self.detector = detector
            self.threshold = threshold
        }
    }

    public struct KindCount: Codable, Sendable {
        public var kind: String
        public var detectors: Int
        public var uniqueConcepts: Int
        public init(kind: String, detectors: Int, uniqueConcepts: Int) {
            self.kind = kind
            self.detectors = detectors
            self.uniqueConcepts = uniqueConcepts
        }
    }
}
