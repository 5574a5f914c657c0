import TensorEngine

/// What a model runs between its input normalisation and its logits: a layer list
/// (`Sequence`, from a `layers` spec) or a graph of named nodes (`Graph`, from `nodes`).
/// Why a protocol: the model, its tail runs and the interpreters above treat both alike,
/// while each keeps its own execution (the sequence its fused convolution blocks).
public protocol ModelBody: Layer {
    /// The top-level layers (a graph's nodes), in forward order.
    var layers: [Layer] { get }
    /// Back-propagates from `dy` at the output (absent: only the seeds in `pass` start flows).
    func backward(optional dy: Tensor?, _ trace: Trace, _ pass: BackwardPass, needInput: Bool) -> Tensor?
}

extension Sequence: ModelBody {}
