import TensorEngine

/// torchvision's StochasticDepth(p, "row") (EfficientNet's residual branches): in train mode
/// each item's whole input is dropped with probability p and the kept ones are scaled by
/// 1/(1 - p); in eval mode the identity. Each item's draw comes from the execution's
/// `itemSeed`, the item's index (`itemOffset` + its row) and this layer's name, not from a
/// stream consumed in batch order, so an item is dropped or kept whatever else shares its
/// batch (issue 19), and a second forward under the same seed (the consistent loss's x and
/// x*) drops the same branches.
public final class StochasticDepth: LeafLayer {
    public let name: String
    public var kind: String { "stochastic_depth" }
    public var traceIndex = -1
    public let p: Float
    /// The stream of this layer's draws: FNV-1a of its name (stable across runs, unlike Hasher).
    let stream: UInt64

    public init(name: String, p: Float) {
        self.name = name
        self.p = p
        stream = name.utf8.reduce(0xCBF2_9CE4_8422_2325 as UInt64) { ($0 ^ UInt64($1)) &* 0x100_0000_01B3 }
    }

    public func outputShape(_ input: [Int]) throws -> [Int] { input }

    /// The factor of each of `items` rows in train mode: 0 (dropped) or 1/(1 - p) (kept).
    public func rowScales(items: Int, _ run: Execution) -> [Float] {
        let kept: Float = p < 1 ? 1 / (1 - p) : 0
        return (0..<items).map { row in
            var rng = SeededRNG(seed: run.itemSeed, key: UInt64(run.itemOffset + row), stream: stream)
            return rng.nextFloat() < p ? 0 : kept
        }
    }

    public func compute(_ x: Tensor, _ run: Execution) -> (Tensor, SavedState?) {
        guard run.mode == .train, p > 0, let items = x.shape.first, items > 0 else { return (x, nil) }
        let scales = rowScales(items: items, run)
        return (Self.scaled(x, rows: scales), .rowScales(scales))
    }

    public func gradient(_ dy: Tensor, input x: Tensor, output y: Tensor, saved: SavedState?,
                         _ pass: BackwardPass, needInput: Bool) -> Tensor? {
        guard needInput else { return nil }
        if case .rowScales(let scales)? = saved { return Self.scaled(dy, rows: scales) }
        return dy
    }

    /// `x` with row r (its slice along the batch) multiplied by `rows[r]`.
    static func scaled(_ x: Tensor, rows: [Float]) -> Tensor {
        var y = Tensor(shape: x.shape)
        let per = x.count / max(rows.count, 1)
        x.data.withUnsafeBufferPointer { xs in
            y.data.withUnsafeMutableBufferPointer { ys in
                for (r, f) in rows.enumerated() {
                    for i in (r * per)..<((r + 1) * per) { ys[i] = xs[i] * f }
                }
            }
        }
        return y
    }
}
