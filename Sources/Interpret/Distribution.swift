/// A summary of a sample of numbers: mean, median, quantiles, a histogram.
public struct Distribution: Equatable, Sendable {
    public var count: Int
    public var mean: Float
    public var median: Float
    public var min: Float
    public var max: Float
    /// (q, value) for q in `Distribution.levels`, linear interpolation between order statistics
    /// (numpy's default).
    public var quantiles: [Quantile]
    /// Equal-width bins from `binEdges[i]` to `binEdges[i + 1]` (the last bin includes its
    /// upper edge), with their counts.
    public var binEdges: [Float]
    public var binCounts: [Int]

    public struct Quantile: Equatable, Sendable {
        public var q: Float
        public var value: Float
    }

    public static let levels: [Float] = [0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95]

    /// Nil for an empty sample.
    public init?(_ values: [Float], bins: Int = 10) {
        guard !values.isEmpty else { return nil }
        let s = values.sorted()
        count = s.count
        mean = s.reduce(0, +) / Float(s.count)
        median = Distribution.quantile(s, 0.5)
        min = s.first!
        max = s.last!
        quantiles = Distribution.levels.map { Quantile(q: $0, value: Distribution.quantile(s, $0)) }
        let lo = min, hi = max > min ? max : min + 1
        let n = Swift.max(1, bins)
        binEdges = (0...n).map { lo + (hi - lo) * Float($0) / Float(n) }
        binCounts = [Int](repeating: 0, count: n)
        for v in s { binCounts[Swift.min(n - 1, Int((v - lo) / (hi - lo) * Float(n)))] += 1 }
    }

    /// The q-quantile of ascending `sorted`, interpolating linearly between order statistics.
    public static func quantile(_ sorted: [Float], _ q: Float) -> Float {
        let p = Double(q) * Double(sorted.count - 1)
        let i = Int(p.rounded(.down)), j = Swift.min(i + 1, sorted.count - 1)
        return sorted[i] + Float(p - Double(i)) * (sorted[j] - sorted[i])
    }
}
