import TensorEngine

/// Permutes the axes (`perm`, over the full tensor with the batch at 0, which must stay at 0),
/// as torch.permute and ONNX Transpose: output axis i is input axis perm[i]. Backward permutes
/// the gradient by the inverse permutation.
public final class Transpose: LeafLayer {
    public let name: String
    public var kind: String { "transpose" }
    public var traceIndex = -1
    public let perm: [Int]

    public init(name: String, perm: [Int]) {
        self.name = name
        self.perm = perm
    }

    public func outputShape(_ input: [Int]) throws -> [Int] {
        guard perm.count == input.count + 1 else {
            throw ModelError.shapeMismatch(layer: name, message: "perm has \(perm.count) axes; the input has \(input.count + 1) (batch included)")
        }
        let full = [1] + input
        return perm.dropFirst().map { full[$0] }
    }

    /// `x` with its axes permuted by `p`.
    static func permute(_ x: Tensor, _ p: [Int]) -> Tensor {
        let inStrides = BatchAxes.strides(x.shape)
        let outShape = p.map { x.shape[$0] }
        return Tensor(uninitializedShape: outShape) { out in
            x.data.withUnsafeBufferPointer { xs in
                BatchAxes.forEach(outShape, inStrides: p.map { inStrides[$0] }) { o, i in out[o] = xs[i] }
            }
        }
    }

    public func compute(_ x: Tensor, _ run: Execution) -> (Tensor, SavedState?) {
        (Transpose.permute(x, perm), nil)
    }

    public func gradient(_ dy: Tensor, input x: Tensor, output y: Tensor, saved: SavedState?,
                         _ pass: BackwardPass, needInput: Bool) -> Tensor? {
        guard needInput else { return nil }
        var inverse = perm
        for (i, p) in perm.enumerated() { inverse[p] = i }
        return Transpose.permute(dy, inverse)
    }
}
