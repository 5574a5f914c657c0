import TensorEngine

/// Padding of any axes but the batch, as ONNX Pad (and F.pad): `pads` lists the amounts
/// before each axis of the full tensor, then after each (ONNX order, batch included, its two
/// entries 0). `constant` fills with `value`; `reflect` mirrors without repeating the edge
/// (needs pads smaller than the axis); `replicate` repeats the edge (ONNX's "edge").
/// Backward adds each output gradient to the input position it was read from.
public final class Pad: LeafLayer {
    /// The fill rule.
    public enum Mode: String, CaseIterable, Sendable {
        case constant, reflect, replicate
    }

    public let name: String
    public var kind: String { "pad" }
    public var traceIndex = -1
    public let pads: [Int]
    public let mode: Mode
    public let value: Float

    public init(name: String, pads: [Int], mode: Mode, value: Float) {
        self.name = name
        self.pads = pads
        self.mode = mode
        self.value = value
    }

    /// The amounts before and after full-tensor axis `a`.
    public func amounts(_ a: Int) -> (Int, Int) { (pads[a], pads[pads.count / 2 + a]) }

    public func outputShape(_ input: [Int]) throws -> [Int] {
        let rank = input.count + 1
        guard pads.count == 2 * rank else {
            throw ModelError.shapeMismatch(layer: name, message: "pads has \(pads.count) values; an input of \(rank) dimensions (batch included) needs \(2 * rank)")
        }
        guard pads[0] == 0, pads[rank] == 0 else {
            throw ModelError.shapeMismatch(layer: name, message: "pads must not pad the batch (dimension 0), got \(pads)")
        }
        return try input.enumerated().map { i, n in
            let (before, after) = amounts(i + 1)
            if mode == .reflect, before >= n || after >= n {
                throw ModelError.shapeMismatch(layer: name, message: "reflect padding must be smaller than the padded dimension: pads \(before), \(after) on dimension \(i + 1) of size \(n)")
            }
            return n + before + after
        }
    }

    /// Per full-tensor axis of the output: the input index each output index reads (-1: the constant).
    public func sourceIndices(_ inShape: [Int]) -> [[Int]] {
        inShape.enumerated().map { a, n in
            let (before, after) = amounts(a)
            return (0..<(n + before + after)).map { o in
                let i = o - before
                if i >= 0 && i < n { return i }
                switch mode {
                case .constant: return -1
                case .replicate: return min(max(i, 0), n - 1)
                case .reflect: return i < 0 ? -i : 2 * (n - 1) - i
                }
            }
        }
    }

    /// Calls body(outFlat, inFlat or -1) for every output element.
    private func walk(_ inShape: [Int], _ body: (Int, Int) -> Void) {
        let maps = sourceIndices(inShape)
        let inStrides = BatchAxes.strides(inShape)
        let outShape = maps.map(\.count)
        // Enumerate output positions; the input offset is summed per axis (-1 when any axis is constant).
        let total = outShape.reduce(1, *)
        guard total > 0 else { return }
        var index = Array(repeating: 0, count: outShape.count)
        for out in 0..<total {
            var src = 0
            for a in 0..<outShape.count {
                let i = maps[a][index[a]]
                if i < 0 { src = -1; break }
                src += i * inStrides[a]
            }
            body(out, src)
            var a = outShape.count - 1
            while a >= 0 {
                index[a] += 1
                if index[a] < outShape[a] { break }
                index[a] = 0
                a -= 1
            }
        }
    }

    public func compute(_ x: Tensor, _ run: Execution) -> (Tensor, SavedState?) {
        let outShape = x.shape.enumerated().map { a, n in n + amounts(a).0 + amounts(a).1 }
        let fill = value
        let y = Tensor(uninitializedShape: outShape) { out in
            x.data.withUnsafeBufferPointer { xs in
                walk(x.shape) { o, i in out[o] = i < 0 ? fill : xs[i] }
            }
        }
        return (y, nil)
    }

    public func gradient(_ dy: Tensor, input x: Tensor, output y: Tensor, saved: SavedState?,
                         _ pass: BackwardPass, needInput: Bool) -> Tensor? {
        guard needInput else { return nil }
        var dx = Tensor(shape: x.shape)
        dx.data.withUnsafeMutableBufferPointer { d in
            dy.data.withUnsafeBufferPointer { g in
                walk(x.shape) { o, i in if i >= 0 { d[i] += g[o] } }
            }
        }
        return dx
    }
}
