import Foundation
import JSON
import SafeTensors
import SwiftProtobuf

/// What an export needs of a resident model: its spec as model/save writes it (`layers` or
/// `nodes`), its parameters and buffers under their state_dict keys, and each layer's output
/// shape per item by name (the full shape for a value `shared` by every item), which the
/// layers whose ONNX form depends on shapes read (Gemm or MatMul, Flatten or Reshape, pooling
/// for adaptive pooling).
public struct ONNXExportSource: Sendable {
    public var spec: JSONValue
    public var weights: SafeTensorsFile
    public var shapes: [String: [Int]]
    public var shared: Set<String>

    public init(spec: JSONValue, weights: SafeTensorsFile, shapes: [String: [Int]], shared: Set<String>) {
        self.spec = spec
        self.weights = weights
        self.shapes = shapes
        self.shared = shared
    }
}

/// A model written as an ONNX file (opset 17, the weights as initializers under their
/// state_dict keys, a dynamic batch): the spec's input normalisation as Sub and Div on the
/// pixels, then each layer as its ONNX operators (`LayerExports`), residual blocks as an Add of
/// body and shortcut, graph nodes in their order. The input range and class labels ride along
/// as metadata, which the import reads back. docs/onnx.md lists the forms.
public enum ONNXExporter {
    public static let opset = 17
    /// IR version 8 is what opset 17 was released with; onnxruntime reads it.
    static let irVersion: Int64 = 8
    public static let rangeKey = "advlens.inputRange", classesKey = "advlens.classes"

    /// The spec layer types an export writes.
    public static var exportableTypes: [String] { (Array(LayerExports.registry.keys) + ["residual", "parameter", "constant"]).sorted() }

    public static func export(_ source: ONNXExportSource) throws -> Data {
        guard let spec = source.spec.objectValue, let input = spec["input"]?.objectValue,
              let item = input["shape"]?.arrayValue?.compactMap(\.intValue), item.count == 3 else {
            throw ONNXError.interface("the spec has no input shape [C, H, W]")
        }
        let walk = ExportWalk(graph: ExportGraph(weights: source.weights), source: source)
        let pixels = walk.graph.uniqueName("input")
        var x = pixels
        let channels = item[0]
        func perChannel(_ key: String) -> [Float]? {
            guard let v = input[key]?.arrayValue?.compactMap(\.doubleValue).map(Float.init), !v.isEmpty else { return nil }
            return v.count == 1 ? [Float](repeating: v[0], count: channels) : v
        }
        if let mean = perChannel("mean") {
            x = walk.graph.node("Sub", [x, walk.graph.floats("input::mean", shape: [1, channels, 1, 1], mean)], scope: "input_normalization")
        }
        if let std = perChannel("std") {
            x = walk.graph.node("Div", [x, walk.graph.floats("input::std", shape: [1, channels, 1, 1], std)], scope: "input_normalization")
        }
        let logits: (value: String, shape: [Int])
        if let nodes = spec["nodes"]?.arrayValue {
            logits = try walk.nodes(nodes, input: x, inputShape: [Broadcast.batch] + item, output: spec["output"]?.stringValue)
        } else {
            logits = try walk.layers(spec["layers"]?.arrayValue ?? [], prefix: "", input: x, inputShape: [Broadcast.batch] + item)
        }
        guard logits.shape.count == 2, logits.shape[0] == Broadcast.batch else {
            throw ONNXError.interface("the model's output has shape \(logits.shape.map(Broadcast.describe)); a classifier's logits are [batch, classes]")
        }

        var graph = Onnx_GraphProto()
        graph.name = spec["name"]?.stringValue ?? "model"
        graph.node = walk.graph.nodes
        graph.initializer = walk.graph.initializers
        typealias Dim = Onnx_TensorShapeProto.Dimension.OneOf_Value
        let batch = Dim.dimParam("batch")
        graph.input = [valueInfo(pixels, [batch] + item.map { Dim.dimValue(Int64($0)) })]
        graph.output = [valueInfo(logits.value, [batch, Dim.dimValue(Int64(logits.shape[1]))])]
        var model = Onnx_ModelProto()
        model.irVersion = irVersion
        model.producerName = "advlens"
        var opsetID = Onnx_OperatorSetIdProto()
        opsetID.domain = ""
        opsetID.version = Int64(opset)
        model.opsetImport = [opsetID]
        model.graph = graph
        for (key, value) in [(rangeKey, input["range"]), (classesKey, spec["classes"])] {
            guard let value else { continue }
            var entry = Onnx_StringStringEntryProto()
            entry.key = key
            entry.value = String(decoding: JSONText.serialize(value), as: UTF8.self)
            model.metadataProps.append(entry)
        }
        let bytes: Data = try model.serializedBytes()
        return bytes
    }

    static func valueInfo(_ name: String, _ dims: [Onnx_TensorShapeProto.Dimension.OneOf_Value]) -> Onnx_ValueInfoProto {
        var info = Onnx_ValueInfoProto()
        info.name = name
        var tensor = Onnx_TypeProto.Tensor()
        tensor.elemType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        tensor.shape.dim = dims.map { v in
            var d = Onnx_TensorShapeProto.Dimension()
            d.value = v
            return d
        }
        info.type.tensorType = tensor
        return info
    }
}

/// The walk over a spec's layer list (residual blocks nested) or graph nodes, writing each
/// layer through the registry with the ONNX values and shapes of its inputs.
struct ExportWalk {
    let graph: ExportGraph
    let source: ONNXExportSource

    /// The full output shape of the layer `name` (batch as `Broadcast.batch` unless shared).
    func shape(_ name: String) -> [Int]? {
        guard let s = source.shapes[name] else { return nil }
        return source.shared.contains(name) ? s : [Broadcast.batch] + s
    }

    func layers(_ specs: [JSONValue], prefix: String, input: String, inputShape: [Int]) throws -> (value: String, shape: [Int]) {
        var current = (value: input, shape: inputShape)
        for spec in specs {
            guard let fields = spec.objectValue, let base = fields["name"]?.stringValue, let type = fields["type"]?.stringValue else {
                throw ONNXError.interface("a layer of the spec has no name or type")
            }
            let name = prefix + base
            if type == "residual" {
                let body = try layers(fields["body"]?.arrayValue ?? [], prefix: name + ".body.", input: current.value, inputShape: current.shape)
                let shortcut = try layers(fields["shortcut"]?.arrayValue ?? [], prefix: name + ".shortcut.", input: current.value, inputShape: current.shape)
                current = (graph.node("Add", [body.value, shortcut.value], scope: name, output: name), shape(name) ?? body.shape)
                continue
            }
            current = try layer(name, type, fields, inputs: [current])
        }
        return current
    }

    func nodes(_ specs: [JSONValue], input: String, inputShape: [Int], output: String?) throws -> (value: String, shape: [Int]) {
        var values: [String: (value: String, shape: [Int])] = ["input": (input, inputShape)]
        var previous = "input"
        for spec in specs {
            guard let fields = spec.objectValue, let name = fields["name"]?.stringValue, let type = fields["type"]?.stringValue else {
                throw ONNXError.interface("a node of the spec has no name or type")
            }
            let inputNames = fields["inputs"]?.arrayValue?.compactMap(\.stringValue) ?? (type == "parameter" || type == "constant" ? [] : [previous])
            let inputs = try inputNames.map { n -> (value: String, shape: [Int]) in
                guard let v = values[n] else { throw ONNXError.interface("node \"\(name)\" reads \"\(n)\", which no earlier node produces") }
                return v
            }
            switch type {
            case "parameter", "constant":
                // The initializer under the node's name: the import makes a module-path name a
                // trainable parameter again, as PyTorch's exporter writes nn.Parameter.
                guard let value = graph.weight(name), let full = shape(name) else {
                    throw ONNXError.notExportable(layer: name, type: type, message: "its tensor \(name) is missing")
                }
                values[name] = (value, full)
            default:
                values[name] = try layer(name, type, fields, inputs: inputs)
            }
            previous = name
        }
        let out = output ?? previous
        guard let logits = values[out] else { throw ONNXError.interface("the output node \"\(out)\" is not in the graph") }
        return logits
    }

    func layer(_ name: String, _ type: String, _ fields: JSONObject, inputs: [(value: String, shape: [Int])]) throws -> (value: String, shape: [Int]) {
        guard let export = LayerExports.registry[type] else {
            throw ONNXError.notExportable(layer: name, type: type, message: "no ONNX form is written for \(type); exportable types: \(ONNXExporter.exportableTypes.joined(separator: ", "))")
        }
        guard let out = shape(name) else { throw ONNXError.interface("no output shape is known for layer \"\(name)\"") }
        let l = ExportLayer(name: name, type: type, fields: fields, inputs: inputs.map(\.value), inputShapes: inputs.map(\.shape), outputShape: out)
        return (try export(graph, l), out)
    }
}
