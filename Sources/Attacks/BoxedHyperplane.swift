import Settings

/// The smallest step, in the L-inf or L2 norm, from a point p onto the hyperplane w·u = b
/// within the input box [lower, upper]: what FAB projects its iterate and the clean image
/// with. Worked in float64.
///
/// Both norms reduce to one monotone, piecewise-linear function of one scalar. For c = b − w·p
/// > 0 (else w and c change sign): L2's minimiser is dᵢ = clip(λwᵢ) into the box's room, and
/// Σ wᵢdᵢ(λ) grows with slope Σ of the unsaturated wᵢ²; L-inf's is dᵢ = sign(wᵢ)·min(r, roomᵢ),
/// and Σ wᵢdᵢ(r) grows with slope Σ of the unsaturated |wᵢ|. Sorting the saturation points
/// and walking them finds the λ or r that reaches c exactly. When the box cannot reach the
/// hyperplane, every coordinate goes as far as the box lets it (the closest point).
enum BoxedHyperplane {
    static func project(_ p: [Float], w: [Float], b: Double, norm: Norm, lower: Float, upper: Float) -> [Float] {
        let n = p.count
        var c = b
        for i in 0..<n { c -= Double(w[i]) * Double(p[i]) }
        let sign: Double = c >= 0 ? 1 : -1
        c *= sign
        // Per coordinate: its weight toward c (≥ 0 after the sign), and the room it has that way.
        var weight = [Double](repeating: 0, count: n), room = [Double](repeating: 0, count: n)
        for i in 0..<n {
            let wi = Double(w[i]) * sign
            weight[i] = abs(wi)
            room[i] = wi > 0 ? Double(upper - p[i]) : Double(p[i] - lower)
            room[i] = max(room[i], 0)
        }
        // Saturation point of each coordinate on the scalar: L2 λ = room/|w|, L-inf r = room.
        let active = (0..<n).filter { weight[$0] > 0 }
        let saturation = active.map { norm == .l2 ? room[$0] / weight[$0] : room[$0] }
        let order = active.indices.sorted { saturation[$0] < saturation[$1] }
        var slope = active.reduce(0.0) { $0 + (norm == .l2 ? weight[$1] * weight[$1] : weight[$1]) }
        var at = 0.0, value = 0.0
        var scalar = Double.infinity
        for k in order {
            let next = value + slope * (saturation[k] - at)
            if next >= c {
                scalar = slope > 0 ? at + (c - value) / slope : at
                break
            }
            (at, value) = (saturation[k], next)
            let i = active[k]
            slope -= norm == .l2 ? weight[i] * weight[i] : weight[i]
        }
        var d = [Float](repeating: 0, count: n)
        for i in active {
            let wi = Double(w[i]) * sign
            let magnitude = norm == .l2 ? min(scalar * abs(wi), room[i]) : min(scalar, room[i])
            d[i] = Float(wi > 0 ? magnitude : -magnitude)
        }
        return d
    }
}
