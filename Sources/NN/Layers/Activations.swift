import TensorEngine

/// max(x, 0). Gradient passes where the output is positive; at x = 0 it is 0, as in PyTorch.
public final class ReLU: LeafLayer {
    public let name: String
    public var kind: String { "relu" }
    public var traceIndex = -1

    public init(name: String) { self.name = name }

    public func outputShape(_ input: [Int]) throws -> [Int] { input }

    public func compute(_ x: Tensor, _ run: Execution) -> (Tensor, SavedState?) {
        let n = x.count
        let y = Tensor(uninitializedShape: x.shape) { out in
            x.data.withUnsafeBufferPointer { xs in
                let xp = xs.baseAddress!, o = out.baseAddress!
                Parallel.forRanges(n, grain: ReLU.grain) { r in
                    for i in r { o[i] = xp[i] > 0 ? xp[i] : 0 }
                }
            }
        }
        return (y, nil)
    }

    /// Elements worth a thread of their own.
    static let grain = 1 << 17

    public func gradient(_ dy: Tensor, input x: Tensor, output y: Tensor, saved: SavedState?,
                         _ pass: BackwardPass, needInput: Bool) -> Tensor? {
        guard needInput else { return nil }
        let n = dy.count
        return Tensor(uninitializedShape: dy.shape) { out in
            dy.data.withUnsafeBufferPointer { d in
                y.data.withUnsafeBufferPointer { ys in
                    let dp = d.baseAddress!, yp = ys.baseAddress!, o = out.baseAddress!
                    Parallel.forRanges(n, grain: ReLU.grain) { r in
                        for i in r { o[i] = yp[i] > 0 ? dp[i] : 0 }
                    }
                }
            }
        }
    }
}

/// Flattens axes `startDim`...`endDim` into one, as nn.Flatten (batch at 0; the defaults 1
/// and -1 flatten each item to a vector: [N, C, H, W] -> [N, C·H·W]).
public final class Flatten: ShapeOnlyLayer {
    public let name: String
    public var kind: String { "flatten" }
    public var traceIndex = -1
    public let startDim: Int, endDim: Int

    public init(name: String, startDim: Int = 1, endDim: Int = -1) {
        self.name = name
        self.startDim = startDim
        self.endDim = endDim
    }

    public func outputShape(_ input: [Int]) throws -> [Int] {
        if input.isEmpty { return [1] }
        let s = try BatchAxes.resolve(startDim, itemRank: input.count, layer: name, field: "start_dim")
        let e = try BatchAxes.resolve(endDim, itemRank: input.count, layer: name, field: "end_dim")
        guard s <= e else {
            throw ModelError.shapeMismatch(layer: name, message: "start_dim \(startDim) comes after end_dim \(endDim) for an input of \(input.count + 1) dimensions")
        }
        return Array(input[..<(s - 1)]) + [input[(s - 1)...(e - 1)].reduce(1, *)] + Array(input[e...])
    }
}

/// Inverted dropout: in train mode each value is kept with probability 1 - p and scaled by
/// 1/(1 - p); in eval mode the identity. The mask comes from the execution's seeded RNG.
public final class Dropout: LeafLayer {
    public let name: String
    public var kind: String { "dropout" }
    public var traceIndex = -1
    public let p: Float

    public init(name: String, p: Float) {
        self.name = name
        self.p = p
    }

    public func outputShape(_ input: [Int]) throws -> [Int] { input }

    public func compute(_ x: Tensor, _ run: Execution) -> (Tensor, SavedState?) {
        guard run.mode == .train, p > 0 else { return (x, nil) }
        let scale: Float = p < 1 ? 1 / (1 - p) : 0
        var mask = Tensor(shape: x.shape)
        mask.data.withUnsafeMutableBufferPointer { m in
            for i in 0..<m.count { m[i] = run.rng.nextFloat() < p ? 0 : scale }
        }
        return (x * mask, .mask(mask))
    }

    public func gradient(_ dy: Tensor, input x: Tensor, output y: Tensor, saved: SavedState?,
                         _ pass: BackwardPass, needInput: Bool) -> Tensor? {
        guard needInput else { return nil }
        if case .mask(let mask)? = saved { return dy * mask }
        return dy
    }
}

/// Passes its input through unchanged: ONNX graphs and torchvision models use it as a
/// placeholder (e.g. a classifier replaced by `nn.Identity()`), and a spec keeps its names.
public final class Identity: LeafLayer {
    public let name: String
    public var kind: String { "identity" }
    public var traceIndex = -1

    public init(name: String) { self.name = name }

    public func outputShape(_ input: [Int]) throws -> [Int] { input }

    public func compute(_ x: Tensor, _ run: Execution) -> (Tensor, SavedState?) { (x, nil) }

    public func gradient(_ dy: Tensor, input x: Tensor, output y: Tensor, saved: SavedState?,
                         _ pass: BackwardPass, needInput: Bool) -> Tensor? {
        needInput ? dy : nil
    }
}
