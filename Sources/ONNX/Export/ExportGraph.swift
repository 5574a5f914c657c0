import Foundation
import SafeTensors

/// The ONNX graph being written by an export: its nodes in order, the initializers (the model's
/// weights under their state_dict keys, and the exporter's own constants under `::` names, which
/// the import keeps as constants rather than trainable parameters), and unique value names.
final class ExportGraph {
    private(set) var nodes: [Onnx_NodeProto] = []
    private(set) var initializers: [Onnx_TensorProto] = []
    private var used: Set<String> = []
    /// Node names, unique as onnxruntime requires (a layer's second Mul is `/<layer>/Mul_2`).
    private var nodeNames: Set<String> = []
    let weights: SafeTensorsFile

    init(weights: SafeTensorsFile) {
        self.weights = weights
        used.formUnion(weights.tensors.keys)
    }

    /// `base` if no value has it yet, else `base_2`, `base_3`, ...
    func uniqueName(_ base: String) -> String {
        var name = base, k = 2
        while used.contains(name) {
            name = "\(base)_\(k)"
            k += 1
        }
        used.insert(name)
        return name
    }

    /// The model weight `key` as an initializer of that name (written once), or nil when absent.
    func weight(_ key: String, shape: [Int]? = nil) -> String? {
        guard let t = weights[key] else { return nil }
        if !initializers.contains(where: { $0.name == key }) {
            initializers.append(Self.floatTensor(key, shape: shape ?? t.shape, t.floats))
        }
        return key
    }

    /// A float constant of the exporter's (a mean, a bound) named `name`, or with `weightKey` the
    /// model weight of that key in another layout (nn.Linear's weight transposed for MatMul).
    func floats(_ name: String, shape: [Int], _ values: [Float], weightKey: Bool = false) -> String {
        let unique = weightKey && !initializers.contains(where: { $0.name == name }) ? name : uniqueName(name)
        initializers.append(Self.floatTensor(unique, shape: shape, values))
        return unique
    }

    /// An int64 constant (shapes, axes, pads, slice bounds).
    func ints(_ name: String, _ values: [Int]) -> String {
        let unique = uniqueName(name)
        var t = Onnx_TensorProto()
        t.name = unique
        t.dataType = Int32(Onnx_TensorProto.DataType.int64.rawValue)
        t.dims = [Int64(values.count)]
        var data = Data(capacity: values.count * 8)
        for v in values { withUnsafeBytes(of: Int64(v).littleEndian) { data.append(contentsOf: $0) } }
        t.rawData = data
        initializers.append(t)
        return unique
    }

    /// Appends `op` reading `inputs` (an empty name is an omitted optional input); its output is
    /// named `output` (made unique), else `<scope>::<op>`. Node names are PyTorch-style scope paths
    /// (`/layer1.0.relu/Relu`, `/layer1.0.relu/Relu_2` for a second), which the import turns back
    /// into the layer's name.
    @discardableResult
    func node(_ op: String, _ inputs: [String], scope: String, output: String? = nil, _ attributes: [Onnx_AttributeProto] = []) -> String {
        var n = Onnx_NodeProto()
        n.opType = op
        n.input = inputs
        let out = uniqueName(output ?? "\(scope)::\(op)")
        n.output = [out]
        var name = "/\(scope)/\(op)", k = 2
        while !nodeNames.insert(name).inserted {
            name = "/\(scope)/\(op)_\(k)"
            k += 1
        }
        n.name = name
        n.attribute = attributes
        nodes.append(n)
        return out
    }

    static func floatTensor(_ name: String, shape: [Int], _ values: [Float]) -> Onnx_TensorProto {
        var t = Onnx_TensorProto()
        t.name = name
        t.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        t.dims = shape.map(Int64.init)
        var data = Data(capacity: values.count * 4)
        for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        t.rawData = data
        return t
    }
}

/// Node attributes, typed.
enum Attribute {
    static func int(_ name: String, _ v: Int) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .int
        a.i = Int64(v)
        return a
    }

    static func ints(_ name: String, _ v: [Int]) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .ints
        a.ints = v.map(Int64.init)
        return a
    }

    static func float(_ name: String, _ v: Float) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .float
        a.f = v
        return a
    }

    static func string(_ name: String, _ v: String) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .string
        a.s = Data(v.utf8)
        return a
    }
}
