import JSON

/// How one ONNX operator is imported: fold it when its inputs are constants, else write spec
/// nodes for it into the context. Adding an operator is one function and one line here.
typealias OperatorImport = (ImportContext, ONNXNode) throws -> Void

/// The operator registry: ONNX op type → its import (in Operators/, one file per family).
enum ONNXOperators {
    static let registry: [String: OperatorImport] = [
        // Operators/Convolution.swift, Operators/Linear.swift
        "Conv": { try conv($0, $1) },
        "Gemm": { try gemm($0, $1) },
        "MatMul": { try matMul($0, $1) },
        // Operators/Arithmetic.swift
        "Add": { try binary($0, $1, type: "add", +) },
        "Sub": { try binary($0, $1, type: "sub", -) },
        "Mul": { try binary($0, $1, type: "mul", *) },
        "Div": { try binary($0, $1, type: "div", /) },
        // Operators/Activations.swift
        "Relu": { try unary($0, $1, type: "relu") },
        "Sigmoid": { try unary($0, $1, type: "sigmoid") },
        "Tanh": { try unary($0, $1, type: "tanh") },
        "HardSwish": { try unary($0, $1, type: "hardswish") },
        "LeakyRelu": { try unary($0, $1, type: "leaky_relu", [("negative_slope", JSONValue(float: $1.float("alpha", default: 0.01)))]) },
        "Gelu": { try gelu($0, $1, input: nil) },
        "Erf": { try unary($0, $1, type: "erf") },
        "HardSigmoid": { try hardSigmoid($0, $1) },
        "Clip": { try clip($0, $1) },
        "Softmax": { try softmax($0, $1, type: "softmax") },
        "LogSoftmax": { try softmax($0, $1, type: "log_softmax") },
        // Operators/Pooling.swift
        "MaxPool": { try pool($0, $1, type: "maxpool2d") },
        "AveragePool": { try pool($0, $1, type: "avgpool2d") },
        "GlobalAveragePool": { try globalAveragePool($0, $1) },
        "ReduceMean": { try reduceMean($0, $1) },
        // Operators/Normalization.swift
        "BatchNormalization": { try batchNormalization($0, $1) },
        "LayerNormalization": { try layerNormalization($0, $1) },
        // Operators/Passthrough.swift
        "Identity": { try identity($0, $1) },
        "Dropout": { try dropout($0, $1) },
        "Cast": { try cast($0, $1) },
        // Operators/Constants.swift: shape arithmetic, folded at import
        "Constant": { try constantNode($0, $1) },
        "Shape": { try shape($0, $1) },
        "ConstantOfShape": { try constantOfShape($0, $1) },
        "Equal": { try equal($0, $1) },
        "Where": { try whereNode($0, $1) },
        "Mod": { try mod($0, $1) },
        "Sqrt": { try sqrtNode($0, $1) },
        // Operators/Reshaping.swift
        "Reshape": { try reshape($0, $1) },
        "Flatten": { try flatten($0, $1) },
        "Unsqueeze": { try unsqueeze($0, $1) },
        "Squeeze": { try squeeze($0, $1) },
        "Transpose": { try transpose($0, $1) },
        "Concat": { try concat($0, $1) },
        "Expand": { try expand($0, $1) },
        // Operators/Indexing.swift
        "Gather": { try gather($0, $1) },
        "Slice": { try slice($0, $1) },
        "Pad": { try pad($0, $1) },
    ]

    /// A kernel/stride/dilation pair as the spec writes it: one int when both agree.
    static func pairJSON(_ v: [Int]) -> JSONValue {
        v.count == 2 && v[0] != v[1] ? JSONValue(ints: v) : JSONValue(v[0])
    }

    /// ONNX 2-D pads [top, left, bottom, right] as the spec's padding: an int, [h, w], or all four.
    static func paddingJSON(_ pads: [Int]) -> JSONValue {
        if pads[0] == pads[2], pads[1] == pads[3] { return pairJSON([pads[0], pads[1]]) }
        return JSONValue(ints: pads)
    }
}
