import Foundation

/// The ONNX forms of the activations without an operator of their own in opset 17 (GELU as
/// PyTorch writes it, with Erf; the tanh approximation in Mul/Add/Tanh), clipping, softmax, and
/// the shape-changing layers (flatten, pad, slice).
extension LayerExports {
    static func clip(_ g: ExportGraph, _ l: ExportLayer, low: Float?, high: Float?) throws -> String {
        let bounds = [(low, "min"), (high, "max")].map { v, what in v.map { g.floats("\(l.name)::\(what)", shape: [], [$0]) } ?? "" }
        return l.emit(g, "Clip", [l.x] + (bounds[1].isEmpty ? [bounds[0]] : bounds))
    }

    /// Exact GELU as x·0.5·(1 + erf(x/√2)) in PyTorch's node order, which the import matches back
    /// into one gelu; `approximate: "tanh"` as 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
    static func gelu(_ g: ExportGraph, _ l: ExportLayer) throws -> String {
        func scalar(_ what: String, _ v: Float) -> String { g.floats("\(l.name)::\(what)", shape: [], [v]) }
        switch l.string("approximate", default: "none") {
        case "tanh":
            let cube = l.step(g, "Mul", [l.step(g, "Mul", [l.x, l.x]), l.x])
            let inner = l.step(g, "Add", [l.x, l.step(g, "Mul", [cube, scalar("cubic", 0.044715)])])
            let t = l.step(g, "Tanh", [l.step(g, "Mul", [inner, scalar("scale", Float((2 / Double.pi).squareRoot()))])])
            return l.emit(g, "Mul", [l.step(g, "Mul", [l.x, scalar("half", 0.5)]), l.step(g, "Add", [t, scalar("one", 1)])])
        default:
            let erf = l.step(g, "Erf", [l.step(g, "Div", [l.x, scalar("sqrt2", Float(2.0.squareRoot()))])])
            let product = l.step(g, "Mul", [l.step(g, "Add", [erf, scalar("one", 1)]), l.x])
            return l.emit(g, "Mul", [product, scalar("half", 0.5)])
        }
    }

    static func softmax(_ g: ExportGraph, _ l: ExportLayer, op: String) throws -> String {
        l.emit(g, op, [l.x], [Attribute.int("axis", try l.int("dim"))])
    }

    /// Flatten (axis 1) when the layer merges every axis after the batch, else a Reshape to the
    /// output shape (0 keeping the batch).
    static func flatten(_ g: ExportGraph, _ l: ExportLayer) throws -> String {
        let start = l.axis(try l.int("start_dim", default: 1)), end = l.axis(try l.int("end_dim", default: -1))
        if l.isBatched, start == 1, end == l.inputShape.count - 1 { return l.emit(g, "Flatten", [l.x], [Attribute.int("axis", 1)]) }
        let shape = l.outputShape.map { $0 == Broadcast.batch ? 0 : $0 }
        return l.emit(g, "Reshape", [l.x, g.ints("\(l.name)::shape", shape)])
    }

    static func pad(_ g: ExportGraph, _ l: ExportLayer) throws -> String {
        let mode: String
        switch l.string("mode", default: "constant") {
        case "reflect": mode = "reflect"
        case "replicate": mode = "edge"
        default: mode = "constant"
        }
        var inputs = [l.x, g.ints("\(l.name)::pads", try l.ints("pads") ?? [])]
        if mode == "constant" { inputs.append(g.floats("\(l.name)::value", shape: [], [try l.float("value", default: 0)])) }
        return l.emit(g, "Pad", inputs, [Attribute.string("mode", mode)])
    }

    static func slice(_ g: ExportGraph, _ l: ExportLayer) throws -> String {
        var end = Int(Int64.max)
        if l.fields["end"] != nil { end = try l.int("end") }
        return l.emit(g, "Slice", [l.x, g.ints("\(l.name)::starts", [try l.int("start", default: 0)]), g.ints("\(l.name)::ends", [end]),
                                   g.ints("\(l.name)::axes", [try l.int("dim")]), g.ints("\(l.name)::steps", [try l.int("step", default: 1)])])
    }

    /// Concat, with an Expand first for each input the spec's concat broadcasts (a `[1, 1, F]`
    /// class token joining `[N, T, F]` patches): ONNX's Concat does not broadcast. The target
    /// shape takes the batch size from a per-item input at run time (Shape, start 0, end 1),
    /// as PyTorch writes `class_token.expand(N, -1, -1)`.
    static func concat(_ g: ExportGraph, _ l: ExportLayer) throws -> String {
        let d = l.axis(try l.int("dim"))
        var inputs = l.inputs
        for (i, shape) in l.inputShapes.enumerated() {
            var want = l.outputShape
            want[d] = shape[d]
            guard shape != want else { continue }
            let lead: String
            if want[0] == Broadcast.batch {
                guard let reference = l.inputShapes.firstIndex(where: { $0.first == Broadcast.batch }) else { throw l.refuse("no input holds the batch") }
                lead = l.step(g, "Shape", [l.inputs[reference]], [Attribute.int("start", 0), Attribute.int("end", 1)])
            } else {
                lead = g.ints("\(l.name)::lead", [want[0]])
            }
            let target = l.step(g, "Concat", [lead, g.ints("\(l.name)::expand", Array(want.dropFirst()))], [Attribute.int("axis", 0)])
            inputs[i] = l.step(g, "Expand", [l.inputs[i], target])
        }
        return l.emit(g, "Concat", inputs, [Attribute.int("axis", d)])
    }

    /// Add, Sub, Mul, Div of two values (ONNX broadcasts as the spec does), or of one value and
    /// the node's scalar `value` (a ViT's attention scale), written as a constant.
    static func arithmetic(_ g: ExportGraph, _ l: ExportLayer, op: String) throws -> String {
        guard l.inputs.count == 1 else { return l.emit(g, op, l.inputs) }
        return l.emit(g, op, [l.x, g.floats("\(l.name)::value", shape: [], [try l.float("value", default: 0)])])
    }
}
