/// Everything that can be wrong with a model, its spec, its weights or its input. Each case
/// names the field, layer or weight key at fault.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    /// The spec JSON is malformed; `path` is the field, e.g. "layers[3].kernel_size".
    case invalidSpec(path: String, message: String)
    /// Layer shapes do not chain.
    case shapeMismatch(layer: String, message: String)
    /// The input tensor's shape is not [N] + the spec's input shape.
    case inputShape(expected: [Int], got: [Int])
    /// A weight the spec needs is absent from the weights file.
    case missingWeight(key: String)
    /// The weights file holds a key the spec does not define.
    case unexpectedWeight(key: String)
    /// The spec needs more weight values than the weights file holds (checked before the
    /// model is built, so a spec cannot make the loader allocate more than the file's size).
    case weightsTooSmall(needed: Int, held: Int)
    /// A weight has another shape than the spec implies.
    case weightShape(key: String, expected: [Int], got: [Int])
    /// A layer name used as a seed or an activation to keep does not exist.
    case unknownLayer(String)
    /// Reading or writing model files failed.
    case io(String)

    public var description: String {
        switch self {
        case let .invalidSpec(path, message): return "invalid model spec at \(path): \(message)"
        case let .shapeMismatch(layer, message): return "layer \(layer): \(message)"
        case let .inputShape(expected, got): return "input has shape \(got), expected [N] + \(expected)"
        case let .missingWeight(key): return "weights file lacks key \"\(key)\""
        case let .unexpectedWeight(key): return "weights file has unexpected key \"\(key)\""
        case let .weightsTooSmall(needed, held):
            return "the spec's layers need \(needed == Int.max ? "more than \(Int.max)" : String(needed)) weight values but the weights file holds \(held): tensors are missing or smaller than the spec says"
        case let .weightShape(key, expected, got): return "weight \"\(key)\" has shape \(got), expected \(expected)"
        case let .unknownLayer(name): return "no layer named \"\(name)\""
        case let .io(message): return message
        }
    }
}
