/// Axis arithmetic for the layers whose fields name an axis of the full tensor (PyTorch's
/// count: the batch is dim 0, negative counts from the end) while `outputShape` sees per-item
/// shapes. Why one place: every such layer translates the same way and refuses the batch axis
/// the same way (an operator that mixes items would break per-item attacks and explanations).
enum BatchAxes {
    /// The full-tensor axis (1...itemRank) that `dim` names for items of rank `itemRank`.
    static func resolve(_ dim: Int, itemRank: Int, layer: String, field: String) throws -> Int {
        let rank = itemRank + 1
        let d = dim < 0 ? dim + rank : dim
        guard d >= 0, d < rank else {
            throw ModelError.shapeMismatch(layer: layer, message: "\(field) \(dim) is outside the input's \(rank) dimensions (batch included)")
        }
        guard d > 0 else {
            throw ModelError.shapeMismatch(layer: layer, message: "\(field) \(dim) names the batch dimension, which a layer may not mix")
        }
        return d
    }

    /// Row-major strides of `shape`.
    static func strides(_ shape: [Int]) -> [Int] {
        var s = Array(repeating: 1, count: shape.count)
        for i in stride(from: shape.count - 2, through: 0, by: -1) { s[i] = s[i + 1] * shape[i + 1] }
        return s
    }

    /// Calls `body(outFlat, inFlat)` for every element of a tensor of `shape` (row-major order),
    /// where `inFlat` = Σ index[a]·inStrides[a] (strides of the source it reads).
    static func forEach(_ shape: [Int], inStrides: [Int], _ body: (Int, Int) -> Void) {
        let total = shape.reduce(1, *)
        guard total > 0 else { return }
        let r = shape.count
        if r == 0 { body(0, 0); return }
        var index = Array(repeating: 0, count: r)
        var inFlat = 0
        let last = r - 1, n = shape[last], step = inStrides[last]
        var out = 0
        while out < total {
            // The innermost axis in one run.
            for j in 0..<n { body(out + j, inFlat + j * step) }
            out += n
            var a = last - 1
            while a >= 0 {
                index[a] += 1
                inFlat += inStrides[a]
                if index[a] < shape[a] { break }
                inFlat -= index[a] * inStrides[a]
                index[a] = 0
                a -= 1
            }
            if a < 0 { break }
        }
    }
}
