import JSON

/// One spec layer (or graph node) as its export sees it: its full name (`4.body.0` inside a
/// residual block), type and spec fields, the ONNX values it reads with their full shapes, and
/// its output's full shape (the batch written as `Broadcast.batch`). Field readers apply the
/// spec's defaults (docs/model-format.md); a form ONNX cannot express is refused naming the layer.
struct ExportLayer {
    let name: String
    let type: String
    let fields: JSONObject
    let inputs: [String]
    let inputShapes: [[Int]]
    let outputShape: [Int]

    var x: String { inputs[0] }
    var inputShape: [Int] { inputShapes[0] }
    var isBatched: Bool { outputShape.first == Broadcast.batch }

    /// The last node of a layer: its output value carries the layer's name.
    @discardableResult
    func emit(_ g: ExportGraph, _ op: String, _ inputs: [String], _ attributes: [Onnx_AttributeProto] = []) -> String {
        g.node(op, inputs, scope: name, output: name, attributes)
    }

    /// A node inside the layer (before its last).
    func step(_ g: ExportGraph, _ op: String, _ inputs: [String], _ attributes: [Onnx_AttributeProto] = []) -> String {
        g.node(op, inputs, scope: name, attributes)
    }

    func refuse(_ message: String) -> ONNXError {
        .notExportable(layer: name, type: type, message: message)
    }

    func int(_ field: String, default value: Int? = nil) throws -> Int {
        guard let v = fields[field] else {
            if let value { return value }
            throw refuse("\(field) is missing")
        }
        guard let i = v.intValue else { throw refuse("\(field) is not an integer") }
        return i
    }

    /// An integer or a list of integers, as a list (`dim`, `kernel_size`, `padding`).
    func ints(_ field: String) throws -> [Int]? {
        guard let v = fields[field] else { return nil }
        if let i = v.intValue { return [i] }
        guard let list = v.arrayValue?.compactMap(\.intValue), list.count == v.arrayValue?.count else {
            throw refuse("\(field) is not an integer or a list of integers")
        }
        return list
    }

    /// kernel_size, stride, dilation: [h, w].
    func pair(_ field: String, default value: [Int]? = nil) throws -> [Int] {
        guard let v = try ints(field) else {
            if let value { return value }
            throw refuse("\(field) is missing")
        }
        return v.count == 1 ? [v[0], v[0]] : v
    }

    /// padding as ONNX's pads [top, left, bottom, right].
    func pads() throws -> [Int] {
        let v = try ints("padding") ?? [0]
        switch v.count {
        case 1: return [v[0], v[0], v[0], v[0]]
        case 2: return [v[0], v[1], v[0], v[1]]
        default: return v
        }
    }

    func float(_ field: String, default value: Float) throws -> Float {
        guard let v = fields[field] else { return value }
        guard let d = v.doubleValue else { throw refuse("\(field) is not a number") }
        return Float(d)
    }

    func optionalFloat(_ field: String) throws -> Float? {
        fields[field] == nil ? nil : try float(field, default: 0)
    }

    func bool(_ field: String, default value: Bool) -> Bool {
        fields[field]?.boolValue ?? value
    }

    func string(_ field: String, default value: String) -> String {
        fields[field]?.stringValue ?? value
    }

    /// An axis field normalised against the input's rank (negative counts from the end).
    func axis(_ a: Int) -> Int { a < 0 ? a + inputShape.count : a }
}
