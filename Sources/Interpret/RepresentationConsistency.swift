/// The representation consistency ratio of PAPER.md §3: for an adversarial image x* made from
/// real x with target t, r(x*) = ||phi(x*) - phi(x)|| / min over real z of class t of ||phi(x*) - phi(z)||.
/// r < 1: x*'s representation stays nearer its source than any real image of the target class.
public enum RepresentationConsistency {
    /// One adversarial image's ratio and the two distances behind it.
    public struct Sample: Equatable, Sendable {
        public var index: Int
        public var target: Int
        /// ||phi(x*) - phi(x)||.
        public var toSource: Float
        /// min over real z of class t of ||phi(x*) - phi(z)||; nil when the real set has no image of class t.
        public var toTargetClass: Float?
        /// Nil when undefined (no real image of class t, or x* coincides with one).
        public var ratio: Float?
    }

    /// Ratios for features given as rows of `dimension` values: `adversarial[i]` and
    /// `sources[i]` are phi(x*_i) and phi(x_i), `real[j]` is phi(z_j) with label `realLabels[j]`.
    public static func ratios(adversarial: [Float], sources: [Float], targets: [Int], real: [Float], realLabels: [Int],
                              dimension d: Int) -> [Sample] {
        precondition(d > 0 && adversarial.count == targets.count * d && sources.count == adversarial.count && real.count == realLabels.count * d,
                     "RepresentationConsistency.ratios: feature arrays do not match the counts")
        var byClass: [Int: [Int]] = [:]
        for (j, l) in realLabels.enumerated() { byClass[l, default: []].append(j) }
        return adversarial.withUnsafeBufferPointer { a in
            sources.withUnsafeBufferPointer { s in
                real.withUnsafeBufferPointer { r in
                    targets.enumerated().map { i, t in
                        func distance(_ other: UnsafeBufferPointer<Float>, _ row: Int) -> Float {
                            var sum: Float = 0
                            for k in 0..<d {
                                let diff = a[i * d + k] - other[row * d + k]
                                sum += diff * diff
                            }
                            return sum.squareRoot()
                        }
                        let toSource = distance(s, i)
                        let nearest = byClass[t].map { rows in rows.map { distance(r, $0) }.min()! }
                        let ratio = nearest.flatMap { $0 > 0 ? toSource / $0 : nil }
                        return Sample(index: i, target: t, toSource: toSource, toTargetClass: nearest, ratio: ratio)
                    }
                }
            }
        }
    }

    /// The distribution of the defined ratios, and the fraction below 1.
    public struct Summary: Equatable, Sendable {
        public var distribution: Distribution?
        public var fractionBelowOne: Float
        /// Samples whose ratio is undefined.
        public var undefined: Int
    }

    public static func summary(_ samples: [Sample], bins: Int = 10) -> Summary {
        let r = samples.compactMap(\.ratio)
        return Summary(distribution: Distribution(r, bins: bins),
                       fractionBelowOne: r.isEmpty ? 0 : Float(r.filter { $0 < 1 }.count) / Float(r.count),
                       undefined: samples.count - r.count)
    }
}
