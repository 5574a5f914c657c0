/// Why an ONNX file was refused (or a model could not be written as one), each naming what a user can act on: the operator and node, the
/// initializer, the opset, the shape that could not be resolved. The server turns these into
/// JSON-RPC invalid-params errors; the message is the whole explanation.
public enum ONNXError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Not a protobuf ModelProto (truncated, another format), or a required part is missing.
    case invalidFile(String)
    /// The default-domain opset is older than `ONNXImporter.minimumOpset`, or absent.
    case opset(String)
    /// An operator no mapping exists for: its type, the node, and what is supported.
    case unsupportedOperator(opType: String, node: String, supported: [String])
    /// An operator whose attributes or inputs fall outside what the graph spec expresses.
    case unsupported(node: String, opType: String, message: String)
    /// A node reads a value that no input, initializer or earlier node produces.
    case undefinedValue(name: String, node: String)
    /// An initializer whose bytes live in another file (external data).
    case externalData(initializer: String)
    /// A tensor of an element type the importer does not read, or whose data does not fill its shape.
    case badTensor(name: String, message: String)
    /// The model's inputs or outputs are not one image-like tensor in and one tensor out.
    case interface(String)
    /// Export: a layer (by its name and type) that has no ONNX form, or a form of it without one.
    case notExportable(layer: String, type: String, message: String)

    public var description: String {
        switch self {
        case let .invalidFile(m): return "not a readable ONNX model: \(m)"
        case let .opset(m): return m
        case let .unsupportedOperator(op, node, supported):
            return "unsupported ONNX operator \(op) (node \"\(node)\"); supported: \(supported.joined(separator: ", "))"
        case let .unsupported(node, op, m): return "\(op) node \"\(node)\": \(m)"
        case let .undefinedValue(name, node):
            return "node \"\(node)\" reads \"\(name)\", which no graph input, initializer or earlier node produces (a missing initializer?)"
        case let .externalData(name):
            return "initializer \"\(name)\" keeps its data in an external file; save the model with its weights inside (onnx.save_model(model, path, save_as_external_data=False)), which models under 2 GB allow"
        case let .badTensor(name, m): return "tensor \"\(name)\": \(m)"
        case let .interface(m): return m
        case let .notExportable(layer, type, m): return "layer \"\(layer)\" (\(type)) has no ONNX form: \(m)"
        }
    }
}
