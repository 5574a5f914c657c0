import Foundation

/// One ONNX node as an operator import sees it: typed attribute lookups with defaults, and its
/// inputs resolved to imported values (an empty input name is an omitted optional input).
struct ONNXNode {
    let proto: Onnx_NodeProto
    /// The node's name for messages: its ONNX name, else "<op type> #<index>".
    let label: String
    let index: Int

    var opType: String { proto.opType }
    var outputs: [String] { proto.output }

    func attribute(_ name: String) -> Onnx_AttributeProto? { proto.attribute.first { $0.name == name } }

    func int(_ name: String, default value: Int) -> Int { attribute(name).map { Int($0.i) } ?? value }
    func ints(_ name: String) -> [Int]? { attribute(name).map { $0.ints.map { Int($0) } } }
    func float(_ name: String, default value: Float) -> Float { attribute(name)?.f ?? value }
    func string(_ name: String, default value: String) -> String {
        attribute(name).map { String(decoding: $0.s, as: UTF8.self) } ?? value
    }

    /// A refusal naming this node.
    func unsupported(_ message: String) -> ONNXError {
        .unsupported(node: label, opType: opType, message: message)
    }
}
