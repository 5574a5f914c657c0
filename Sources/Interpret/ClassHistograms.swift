/// Class histograms of a unit's top images and the paper's consistency measures (PAPER.md §3):
/// CS1 = cos(p_real, p_adv_true), CS2 = cos(p_real, p_adv_target), LC = p_realᵀ A p_real.
public enum ClassHistograms {
    /// The normalised histogram of `labels` over `classes` classes (all zeros when empty).
    /// Labels outside 0..<classes are ignored.
    public static func histogram(_ labels: [Int], classes: Int) -> [Float] {
        var h = [Float](repeating: 0, count: classes)
        var n = 0
        for l in labels where l >= 0 && l < classes {
            h[l] += 1
            n += 1
        }
        return n == 0 ? h : h.map { $0 / Float(n) }
    }

    /// Cosine similarity; 0 when either vector is zero.
    public static func cosine(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count, "cosine: lengths \(a.count) and \(b.count) differ")
        var dot: Float = 0, na: Float = 0, nb: Float = 0
        for i in a.indices {
            dot += a[i] * b[i]
            na += a[i] * a[i]
            nb += b[i] * b[i]
        }
        return na == 0 || nb == 0 ? 0 : dot / (na.squareRoot() * nb.squareRoot())
    }

    /// pᵀ A p with A row-major classes x classes; nil A is the identity (then LC = Σ p_i²).
    public static func consistencyLevel(_ p: [Float], similarity a: [Float]?) -> Float {
        let c = p.count
        guard let a else { return p.reduce(0) { $0 + $1 * $1 } }
        precondition(a.count == c * c, "consistencyLevel: A has \(a.count) entries for \(c) classes")
        var s: Float = 0
        for i in 0..<c where p[i] != 0 {
            for j in 0..<c { s += p[i] * a[i * c + j] * p[j] }
        }
        return s
    }

    /// One unit's histograms and measures.
    public struct UnitConsistency: Equatable, Sendable {
        public var unit: Int
        /// It fires on both sets (`TopActivations.fires`); summaries cover only such units.
        public var firing = true
        public var pReal: [Float]
        public var pAdvTrue: [Float]
        public var pAdvTarget: [Float]
        public var cs1: Float
        public var cs2: Float
        public var lc: Float
    }

    /// The measures of one unit from its top images' labels: the real images' labels, the
    /// adversarial images' source labels and their adversarial target labels.
    public static func unit(_ unit: Int, realLabels: [Int], advSourceLabels: [Int], advTargetLabels: [Int], classes: Int,
                            similarity: [Float]?) -> UnitConsistency {
        let pReal = histogram(realLabels, classes: classes)
        let pTrue = histogram(advSourceLabels, classes: classes)
        let pTarget = histogram(advTargetLabels, classes: classes)
        return UnitConsistency(unit: unit, pReal: pReal, pAdvTrue: pTrue, pAdvTarget: pTarget, cs1: cosine(pReal, pTrue),
                               cs2: cosine(pReal, pTarget), lc: consistencyLevel(pReal, similarity: similarity))
    }

    /// Per unit, from reduced activations of a real set and an adversarial set: each unit's
    /// top-`k` images of both, with the labels of those sets.
    public static func consistency(real: LayerActivations, realLabels: [Int], adversarial: LayerActivations,
                                   advSourceLabels: [Int], advTargetLabels: [Int], units: [Int], k: Int, classes: Int,
                                   similarity: [Float]?) -> [UnitConsistency] {
        units.map { u in
            let r = TopActivations.top(real, unit: u, k: k).map { realLabels[$0.image] }
            let adv = TopActivations.top(adversarial, unit: u, k: k).map(\.image)
            var measures = unit(u, realLabels: r, advSourceLabels: adv.map { advSourceLabels[$0] },
                                advTargetLabels: adv.map { advTargetLabels[$0] }, classes: classes, similarity: similarity)
            measures.firing = TopActivations.fires(real, unit: u) && TopActivations.fires(adversarial, unit: u)
            return measures
        }
    }

    /// Means and medians of CS1, CS2 and LC over some units (nil when there are none).
    public struct Statistics: Equatable, Sendable {
        public var units: Int
        public var meanCS1: Float?, medianCS1: Float?
        public var meanCS2: Float?, medianCS2: Float?
        public var meanLC: Float?, medianLC: Float?

        public init(_ rows: [UnitConsistency]) {
            func mean(_ v: [Float]) -> Float? { v.isEmpty ? nil : v.reduce(0, +) / Float(v.count) }
            func median(_ v: [Float]) -> Float? { Distribution(v)?.median }
            units = rows.count
            (meanCS1, medianCS1) = (mean(rows.map(\.cs1)), median(rows.map(\.cs1)))
            (meanCS2, medianCS2) = (mean(rows.map(\.cs2)), median(rows.map(\.cs2)))
            (meanLC, medianLC) = (mean(rows.map(\.lc)), median(rows.map(\.lc)))
        }
    }

    /// The similarity matrix to use: the request's, else the dataset's, else nil (identity).
    /// Checks its size and that its entries are finite.
    public static func similarity(requested: [Float]?, dataset: [Float]?, classes: Int) throws -> [Float]? {
        guard let a = requested ?? dataset else { return nil }
        guard a.count == classes * classes else {
            throw InterpretError.invalid("the class-similarity matrix has \(a.count) entries; \(classes) classes need \(classes * classes)")
        }
        guard a.allSatisfy(\.isFinite) else { throw InterpretError.invalid("the class-similarity matrix has a non-finite entry") }
        return a
    }
}
