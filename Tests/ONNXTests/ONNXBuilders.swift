import Foundation
@testable import ONNX

/// Small ONNX models written with the generated messages, as onnx.helper would build them.
enum ONNXBuild {
    static func tensor(_ name: String, _ shape: [Int], _ floats: [Float]) -> Onnx_TensorProto {
        var t = Onnx_TensorProto()
        t.name = name
        t.dims = shape.map { Int64($0) }
        t.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        t.floatData = floats
        return t
    }

    static func ints(_ name: String, _ values: [Int]) -> Onnx_TensorProto {
        var t = Onnx_TensorProto()
        t.name = name
        t.dims = [Int64(values.count)]
        t.dataType = Int32(Onnx_TensorProto.DataType.int64.rawValue)
        t.int64Data = values.map { Int64($0) }
        return t
    }

    /// A float tensor of `shape` with values 0.01, 0.02, ...
    static func ramp(_ name: String, _ shape: [Int]) -> Onnx_TensorProto {
        tensor(name, shape, (0..<shape.reduce(1, *)).map { Float($0 + 1) / 100 })
    }

    static func node(_ op: String, _ inputs: [String], _ outputs: [String], name: String = "",
                     ints: [String: [Int]] = [:], int: [String: Int] = [:], floats: [String: Float] = [:]) -> Onnx_NodeProto {
        var n = Onnx_NodeProto()
        n.opType = op
        n.input = inputs
        n.output = outputs
        n.name = name
        for (k, v) in ints.sorted(by: { $0.key < $1.key }) {
            var a = Onnx_AttributeProto()
            a.name = k
            a.type = .ints
            a.ints = v.map { Int64($0) }
            n.attribute.append(a)
        }
        for (k, v) in int.sorted(by: { $0.key < $1.key }) {
            var a = Onnx_AttributeProto()
            a.name = k
            a.type = .int
            a.i = Int64(v)
            n.attribute.append(a)
        }
        for (k, v) in floats.sorted(by: { $0.key < $1.key }) {
            var a = Onnx_AttributeProto()
            a.name = k
            a.type = .float
            a.f = v
            n.attribute.append(a)
        }
        return n
    }

    static func valueInfo(_ name: String, _ dims: [Int?]) -> Onnx_ValueInfoProto {
        var v = Onnx_ValueInfoProto()
        v.name = name
        v.type.tensorType.elemType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        v.type.tensorType.shape.dim = dims.map { d in
            var dim = Onnx_TensorShapeProto.Dimension()
            if let d { dim.dimValue = Int64(d) } else { dim.dimParam = "batch" }
            return dim
        }
        return v
    }

    static func model(_ nodes: [Onnx_NodeProto], initializers: [Onnx_TensorProto], input: [Int?] = [nil, 3, 8, 8],
                      output: String, opset: Int = 17) -> Data {
        var m = Onnx_ModelProto()
        m.irVersion = 8
        var o = Onnx_OperatorSetIdProto()
        o.version = Int64(opset)
        m.opsetImport = [o]
        m.graph.name = "test"
        m.graph.node = nodes
        m.graph.initializer = initializers
        m.graph.input = [valueInfo("x", input)]
        m.graph.output = [valueInfo(output, [nil])]
        return try! m.serializedData()
    }
}
