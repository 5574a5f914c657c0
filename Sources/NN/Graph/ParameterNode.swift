import TensorEngine

/// A bare tensor in the graph: `parameter` is trainable (PyTorch's nn.Parameter, such as a
/// ViT's class token or position embedding), `constant` is not (a buffer: ONNX initializers
/// that are not weights of a layer, a scale to multiply by). Its state_dict key is the node's
/// name itself, and its value has the full `shape` given (it is the same for every item;
/// broadcasting against per-item values puts it to use).
public final class ParameterNode: GraphOperator {
    public let name: String
    public let tensor: Parameter
    public var kind: String { tensor.trainable ? "parameter" : "constant" }
    public var traceIndex = -1
    public var arity: ClosedRange<Int> { 0...0 }
    public var parameters: [Parameter] { tensor.trainable ? [tensor] : [] }
    public var buffers: [Parameter] { tensor.trainable ? [] : [tensor] }

    public init(name: String, shape: [Int], trainable: Bool) {
        self.name = name
        tensor = Parameter(name: name, value: Tensor(shape: shape), trainable: trainable)
    }

    public func outputShape(inputs: [[Int]]) throws -> [Int] { tensor.value.shape }

    public func compute(_ inputs: [Tensor], _ run: Execution) -> Tensor { tensor.value }

    public func gradients(_ dy: Tensor, inputs: [Tensor], output: Tensor, _ pass: BackwardPass, need: [Bool]) -> [Tensor?] {
        if pass.wantParameters, tensor.trainable { pass.gradients.accumulate(tensor, dy) }
        return []
    }
}
