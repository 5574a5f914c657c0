/// LayerNorm as PyTorch exports it below opset 17, which has no LayerNormalization:
/// m = ReduceMean(x), d = Sub(x, m), v = ReduceMean(Pow(d, 2)), y = Div(d, Sqrt(Add(v, eps))),
/// then Mul by the weight and Add of the bias (each optional), both means over the same
/// trailing axes with keepdims. Found before the walk; imported as one layernorm node at its
/// last node (`ONNXOperators.layerNormPattern`), which checks the axes against x's shape.
struct LayerNormMatch: Equatable {
    var x: String
    /// The ReduceMean axes as written (negative or not; the import resolves them).
    var axes: [Int]
    var epsilon: Float
    /// The constant inputs of the Mul (weight) and Add (bias) after the Div, when present.
    var scale: String?
    var bias: String?
}

enum LayerNormPattern {
    static func find(in g: NodeIndex) -> [Int: PatternRewrite] {
        let nodes = g.nodes
        var rewrites: [Int: PatternRewrite] = [:]
        func constant(_ name: String) -> Bool {
            if case .constant? = g.constants[name] { return true }
            return g.producer[name].map { nodes[$0].opType == "Constant" } ?? false
        }
        /// A ReduceMean's axes from its attribute (opsets 13–17) when it keeps the dimensions.
        func meanAxes(_ n: Onnx_NodeProto) -> [Int]? {
            guard n.opType == "ReduceMean", n.input.count == 1,
                  (n.attribute.first { $0.name == "keepdims" }?.i ?? 1) == 1,
                  let axes = n.attribute.first(where: { $0.name == "axes" })?.ints, !axes.isEmpty else { return nil }
            return axes.map { Int($0) }
        }
        for (r1, first) in nodes.enumerated() {
            guard let axes = meanAxes(first) else { continue }
            let x = first.input[0]
            guard let s = g.onlyUser(first.output[0]), nodes[s].opType == "Sub", nodes[s].input == [x, first.output[0]] else { continue }
            let d = nodes[s].output[0]
            let readers = g.users(d)
            guard readers.count == 2, !g.graphOutputs.contains(d),
                  let p = readers.first(where: { nodes[$0].opType == "Pow" }), nodes[p].input.first == d, nodes[p].input.count == 2,
                  g.near(g.scalar(nodes[p].input[1]), 2),
                  let dv = readers.first(where: { nodes[$0].opType == "Div" }), nodes[dv].input.first == d,
                  let r2 = g.onlyUser(nodes[p].output[0]), meanAxes(nodes[r2]) == axes,
                  let a = g.onlyUser(nodes[r2].output[0]), nodes[a].opType == "Add",
                  let epsName = g.other(nodes[a], nodes[r2].output[0]), let eps = g.scalar(epsName),
                  let q = g.onlyUser(nodes[a].output[0]), nodes[q].opType == "Sqrt", nodes[dv].input == [d, nodes[q].output[0]],
                  g.onlyUser(nodes[q].output[0]) == dv else { continue }
            var parts = [r1, s, p, r2, a, q, dv]
            var match = LayerNormMatch(x: x, axes: axes, epsilon: eps)
            var last = dv
            if let m = g.onlyUser(nodes[dv].output[0]), nodes[m].opType == "Mul", let w = g.other(nodes[m], nodes[dv].output[0]), constant(w) {
                match.scale = w
                parts.append(m)
                last = m
                if let b = g.onlyUser(nodes[m].output[0]), nodes[b].opType == "Add", let bias = g.other(nodes[b], nodes[m].output[0]), constant(bias) {
                    match.bias = bias
                    parts.append(b)
                    last = b
                }
            }
            guard parts.max() == last, parts.allSatisfy({ rewrites[$0] == nil }) else { continue }
            for i in parts where i != last { rewrites[i] = .skip }
            rewrites[last] = .layerNorm(match)
        }
        return rewrites
    }
}
