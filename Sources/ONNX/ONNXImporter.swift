import Foundation
import JSON
import SafeTensors
import SwiftProtobuf

/// What `model/load` takes besides the file: the model's name and what the ONNX graph's input
/// means in pixel terms (the range attacks keep images in, and the normalisation the graph
/// expects, applied inside the model as for every spec), and class labels. The range and the
/// labels default to those an AdvLens export wrote into the file's metadata, else [0, 1] and
/// "0", "1", ...
public struct ONNXImportOptions: Sendable {
    public var name: String
    public var range: [Float]?
    public var mean: [Float]?
    public var std: [Float]?
    public var classes: [String]?

    public init(name: String, range: [Float]? = nil, mean: [Float]? = nil, std: [Float]? = nil, classes: [String]? = nil) {
        self.name = name
        self.range = range
        self.mean = mean
        self.std = std
        self.classes = classes
    }
}

/// An imported model: the graph spec (JSON, as docs/model-format.md describes) and its weights
/// under the spec's parameter names.
public struct ONNXImport: Sendable {
    public var spec: JSONValue
    public var weights: SafeTensorsFile
    /// The default-domain opset the file was written for.
    public var opset: Int

    public var specJSON: Data { Data(JSONText.serialize(spec, pretty: true)) }
}

/// ONNX models (protobuf ModelProto, opset 13 and later) into graph specs: the graph's nodes are
/// visited in their (topological) order; each operator's import (`ONNXOperators`) folds it when
/// its inputs are constants, or writes spec nodes for it.
public enum ONNXImporter {
    public static let minimumOpset = 13
    /// Bounds on sizes read from a file (input dimensions, attribute values such as pads and
    /// strides, reshape targets, folded tensors), so that no size arithmetic overflows.
    static let maxDimension = 1 << 20
    static let maxFoldedValues = 1 << 24

    /// The operator types the import maps, for messages and docs.
    public static var supportedOperators: [String] { ONNXOperators.registry.keys.sorted() }

    public static func importModel(_ bytes: Data, options: ONNXImportOptions) throws -> ONNXImport {
        let model: Onnx_ModelProto
        do { model = try Onnx_ModelProto(serializedBytes: bytes) } catch {
            throw ONNXError.invalidFile("the protobuf does not decode as an ONNX ModelProto (\(Self.describe(error))); is the file truncated, or not ONNX?")
        }
        guard model.hasGraph, !model.graph.node.isEmpty else {
            throw ONNXError.invalidFile(model.hasGraph ? "the graph has no nodes" : "the file holds no graph (is it an ONNX model?)")
        }
        let opset = try Self.defaultOpset(model)
        let graph = model.graph
        let context = ImportContext(graph: graph)

        for initializer in graph.initializer {
            guard !initializer.name.isEmpty else { throw ONNXError.invalidFile("an initializer has no name") }
            context.values[initializer.name] = .constant(try ConstantTensor(initializer, name: initializer.name), initializer: initializer.name)
        }
        guard graph.sparseInitializer.isEmpty else { throw ONNXError.invalidFile("sparse initializers are not read") }
        let input = try Self.modelInput(graph, context: context)
        context.values[input.name] = .computed(ComputedTensor(node: "input", item: input.item))

        let patterns = NodeIndex(graph.node, constants: context.values, graphOutputs: context.graphOutputs)
        let rewrites = GELUPattern.find(in: patterns).merging(LayerNormPattern.find(in: patterns)) { gelu, _ in gelu }
        for (index, proto) in graph.node.enumerated() where !context.skipped.contains(index) {
            let node = ONNXNode(proto: proto, label: proto.name.isEmpty ? "\(proto.opType) #\(index)" : proto.name, index: index)
            switch rewrites[index] {
            case .skip?: continue
            case let .gelu(x)?:
                try ONNXOperators.gelu(context, node, input: x)
                continue
            case let .layerNorm(match)?:
                try ONNXOperators.layerNormPattern(context, node, match)
                continue
            case nil: break
            }
            guard proto.domain.isEmpty || proto.domain == "ai.onnx" else {
                throw ONNXError.unsupportedOperator(opType: "\(proto.domain).\(proto.opType)", node: node.label, supported: supportedOperators)
            }
            guard let importer = ONNXOperators.registry[proto.opType] else {
                throw ONNXError.unsupportedOperator(opType: proto.opType, node: node.label, supported: supportedOperators)
            }
            try importer(context, node)
        }

        guard graph.output.count == 1 else {
            throw ONNXError.interface("the graph has \(graph.output.count) outputs; a classifier has one (its logits)")
        }
        let outputName = graph.output[0].name
        guard let out = context.values[outputName] else { throw ONNXError.undefinedValue(name: outputName, node: "(graph output)") }
        guard case let .computed(logits) = out, logits.node != "input" else {
            throw ONNXError.interface("the graph output \"\(outputName)\" does not depend on the input")
        }
        guard logits.item.count == 1 else {
            throw ONNXError.interface("the graph output \"\(outputName)\" has shape [batch, \(logits.item.map(String.init).joined(separator: ", "))]; a classifier's logits are [batch, classes]")
        }
        let classCount = logits.item[0]
        let written = Self.exportMetadata(model, classCount: classCount)
        let classes = options.classes ?? written.classes ?? (0..<classCount).map(String.init)
        let range = options.range ?? written.range ?? [0, 1]
        guard classes.count == classCount else {
            throw ONNXError.interface("classes: \(classes.count) labels given; the model has \(classCount) outputs")
        }

        let (nodes, weights) = context.graph.finished(output: logits.node)
        var inputSpec: [(String, JSONValue)] = [("shape", JSONValue(ints: input.item)),
                                               ("range", .array(range.map { JSONValue(float: $0) }))]
        if let mean = options.mean { inputSpec.append(("mean", .array(mean.map { JSONValue(float: $0) }))) }
        if let std = options.std { inputSpec.append(("std", .array(std.map { JSONValue(float: $0) }))) }
        let spec: JSONValue = .object(JSONObject([
            ("name", .string(options.name)),
            ("input", .object(JSONObject(inputSpec))),
            ("classes", .array(classes.map { .string($0) })),
            ("nodes", .array(nodes.map { n in
                var members: [(String, JSONValue)] = [("name", .string(n.name)), ("type", .string(n.type))]
                if !n.inputs.isEmpty { members.append(("inputs", .array(n.inputs.map { .string($0) }))) }
                return .object(JSONObject(members + n.fields))
            })),
            ("output", .string(logits.node)),
        ]))
        var tensors: [String: SafeTensor] = [:]
        for w in weights { tensors[w.name] = SafeTensor(name: w.name, shape: w.shape, dtype: w.dtype, floats: w.floats) }
        return ONNXImport(spec: spec, weights: SafeTensorsFile(tensors: tensors, metadata: ["format": "pt"]), opset: opset)
    }

    /// The input range and class labels an AdvLens export recorded (`advlens.inputRange`,
    /// `advlens.classes`), each when it reads as one and fits the model.
    static func exportMetadata(_ model: Onnx_ModelProto, classCount: Int) -> (range: [Float]?, classes: [String]?) {
        func value(_ key: String) -> JSONValue? {
            guard let text = model.metadataProps.first(where: { $0.key == key })?.value else { return nil }
            return try? JSONText.parse(Array(text.utf8))
        }
        var range: [Float]? = value(ONNXExporter.rangeKey)?.arrayValue?.compactMap(\.doubleValue).map { Float($0) }
        if let r = range, !(r.count == 2 && r[0].isFinite && r[1].isFinite && r[0] < r[1]) { range = nil }
        var classes: [String]? = value(ONNXExporter.classesKey)?.arrayValue?.compactMap(\.stringValue)
        if classes?.count != classCount { classes = nil }
        return (range, classes)
    }

    /// The opset of the default domain ("" or "ai.onnx"), at least `minimumOpset`.
    static func defaultOpset(_ model: Onnx_ModelProto) throws -> Int {
        guard let entry = model.opsetImport.first(where: { $0.domain.isEmpty || $0.domain == "ai.onnx" }) else {
            throw ONNXError.opset("the model imports no opset of the default ONNX domain")
        }
        let version = Int(entry.version)
        guard version >= minimumOpset else {
            throw ONNXError.opset("opset \(version) is older than the \(minimumOpset) this import reads; export again with opset_version=\(minimumOpset) or later (torch.onnx.export(..., opset_version=17)), or convert with onnx.version_converter")
        }
        return version
    }

    /// The one graph input that is not an initializer: a float tensor [batch, C, H, W] whose
    /// other dimensions are fixed.
    static func modelInput(_ graph: Onnx_GraphProto, context: ImportContext) throws -> (name: String, item: [Int]) {
        let inputs = graph.input.filter { context.values[$0.name] == nil }
        guard inputs.count == 1, let input = inputs.first else {
            throw ONNXError.interface("the graph has \(inputs.count) inputs besides its initializers (\(inputs.map(\.name).joined(separator: ", "))); a classifier has one, the images")
        }
        let tensorType = input.type.tensorType
        guard input.type.tensorType.elemType == Int32(Onnx_TensorProto.DataType.float.rawValue) else {
            throw ONNXError.interface("the input \"\(input.name)\" is not a float32 tensor")
        }
        let dims = tensorType.shape.dim
        guard tensorType.hasShape, dims.count == 4 else {
            throw ONNXError.interface("the input \"\(input.name)\" has shape rank \(dims.count); an image classifier takes [batch, channels, height, width]")
        }
        var item: [Int] = []
        for (i, d) in dims.enumerated().dropFirst() {
            guard case let .dimValue(v)? = d.value, v > 0, v <= maxDimension else {
                throw ONNXError.interface("the input \"\(input.name)\" has a dynamic or unusable size at dimension \(i) (\(d.dimParam.isEmpty ? "\(d.dimValue)" : d.dimParam)); only the batch (dimension 0) may be dynamic, the others fixed at 1 to \(maxDimension)")
            }
            item.append(Int(v))
        }
        if case let .dimValue(b)? = dims[0].value, b > 0 { context.exportBatch = Int(b) }
        return (input.name, item)
    }

    static func describe(_ error: Error) -> String {
        if let e = error as? BinaryDecodingError {
            switch e {
            case .truncated: return "truncated"
            case .malformedProtobuf: return "malformed protobuf"
            case .invalidUTF8: return "a string is not UTF-8"
            case .messageDepthLimit: return "nested too deeply"
            default: return "\(e)"
            }
        }
        return "\(error)"
    }
}
