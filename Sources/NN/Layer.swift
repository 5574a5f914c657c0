import TensorEngine

/// A node of a model: a leaf layer (conv2d, relu, ...) or a composite (sequence, residual).
///
/// Shapes passed to `outputShape` are per item (C, H, W or F), without the batch.
public protocol Layer: AnyObject {
    /// The layer's path, as in PyTorch's state_dict prefix: "3", "8.body.0".
    var name: String { get }
    /// The spec's type name ("conv2d", "residual", ...).
    var kind: String { get }
    /// This layer's slot in a `Trace`, assigned when the model is built.
    var traceIndex: Int { get set }
    /// Trainable parameters owned directly by this layer (not by sublayers).
    var parameters: [Parameter] { get }
    /// Buffers owned directly by this layer.
    var buffers: [Parameter] { get }
    /// Direct sublayers (empty for leaves).
    var sublayers: [Layer] { get }
    func outputShape(_ input: [Int]) throws -> [Int]
    func forward(_ x: Tensor, _ run: Execution, _ trace: Trace?) -> Tensor
    /// The gradient with respect to the layer's input (nil when `needInput` is false), after
    /// adding this layer's parameter gradients to `pass` when it wants them.
    func backward(_ dy: Tensor, _ trace: Trace, _ pass: BackwardPass, needInput: Bool) -> Tensor?
}

extension Layer {
    public var parameters: [Parameter] { [] }
    public var buffers: [Parameter] { [] }
    public var sublayers: [Layer] { [] }
}

/// A layer with no sublayers: it computes forward from its input alone, and backward from
/// its input, output and saved state, which the default `forward` records in the trace.
public protocol LeafLayer: Layer {
    func compute(_ x: Tensor, _ run: Execution) -> (Tensor, SavedState?)
    func gradient(_ dy: Tensor, input x: Tensor, output y: Tensor, saved: SavedState?,
                  _ pass: BackwardPass, needInput: Bool) -> Tensor?
}

extension LeafLayer {
    public func forward(_ x: Tensor, _ run: Execution, _ trace: Trace?) -> Tensor {
        let (y, saved) = compute(x, run)
        if let trace {
            trace.inputs[traceIndex] = x
            trace.outputs[traceIndex] = y
            trace.saved[traceIndex] = saved
        }
        return y
    }

    public func backward(_ dy: Tensor, _ trace: Trace, _ pass: BackwardPass, needInput: Bool) -> Tensor? {
        guard let x = trace.inputs[traceIndex], let y = trace.outputs[traceIndex] else {
            preconditionFailure("backward through \(name) without its forward record")
        }
        return gradient(dy, input: x, output: y, saved: trace.saved[traceIndex], pass, needInput: needInput)
    }
}
