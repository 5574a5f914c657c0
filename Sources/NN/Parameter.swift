import TensorEngine

/// A named tensor the model owns: a trainable weight or a buffer (batchnorm running
/// statistics). `name` is the PyTorch state_dict key, e.g. "0.weight", "8.body.1.running_var".
///
/// Values change only under the model's write access (training, loading); reads of the
/// same model may run concurrently, which is why it is a class marked unchecked-Sendable:
/// the daemon's model lock, not the type system, serialises writers with readers.
public final class Parameter: @unchecked Sendable {
    public let name: String
    public var value: Tensor
    /// Trainable weights get gradients and optimiser updates; buffers do not.
    public let trainable: Bool
    /// How the value is stored in safetensors ("F32", or "I64" for num_batches_tracked).
    public let storageType: String
    /// Position among the model's trainable parameters (index into gradients), -1 for buffers.
    public internal(set) var index: Int = -1

    public init(name: String, value: Tensor, trainable: Bool = true, storageType: String = "F32") {
        self.name = name
        self.value = value
        self.trainable = trainable
        self.storageType = storageType
    }
}

/// Gradients of a model's trainable parameters, by `Parameter.index` (nil: not computed, or zero).
public struct ParameterGradients: Sendable {
    public var values: [Tensor?]

    public init(count: Int) { values = Array(repeating: nil, count: count) }

    public subscript(_ p: Parameter) -> Tensor? {
        get { values[p.index] }
        set { values[p.index] = newValue }
    }

    /// Adds `g` to the gradient of `p`.
    public mutating func accumulate(_ p: Parameter, _ g: Tensor) {
        if values[p.index] == nil { values[p.index] = g } else { values[p.index]!.add(g) }
    }
}
