/// Builds a `Graph` from a spec's `nodes`: names (unique, dots allowed, "input" reserved),
/// inputs (earlier nodes only: a forward reference or a cycle is refused naming the node and
/// field), each node's layer, and its shape. Errors name the field, as "nodes[3].inputs[1]".
public enum GraphBuilder {
    /// The types only a graph has (`LayerFactory` builds the rest).
    public static let types = Arithmetic.Operation.allCases.map(\.rawValue) + ["matmul", "concat", "parameter", "constant"]

    static func build(_ specs: [LayerSpec], output: String?, inputShape: [Int],
                      shape: (Layer, [Int]) throws -> [Int]) throws -> Graph {
        guard !specs.isEmpty else { throw ModelError.invalidSpec(path: "nodes", message: "must not be empty") }
        var index: [String: Int] = [:]
        for (i, s) in specs.enumerated() {
            let at = "nodes[\(i)].name"
            guard !s.name.isEmpty else { throw ModelError.invalidSpec(path: at, message: "must be a non-empty name") }
            guard s.name != "input" else {
                throw ModelError.invalidSpec(path: at, message: "\"input\" is reserved: it names the model input")
            }
            if let j = index[s.name] {
                throw ModelError.invalidSpec(path: at, message: "duplicate node name \"\(s.name)\" (also nodes[\(j)])")
            }
            index[s.name] = i
        }
        var nodes: [Layer] = []
        var inputs: [[Int]] = []
        for (i, s) in specs.enumerated() {
            let at = "nodes[\(i)]"
            let layer = try node(s, path: at)
            let arity = (layer as? GraphOperator)?.arity ?? 1...1
            let names = s.inputs ?? (arity == 0...0 ? [] : [i == 0 ? "input" : specs[i - 1].name])
            guard arity.contains(names.count) else {
                let expected = arity.lowerBound == arity.upperBound ? "\(arity.lowerBound)" : "at least \(arity.lowerBound)"
                throw ModelError.invalidSpec(path: "\(at).inputs", message: "\(s.type) takes \(expected) input\(arity == 1...1 ? "" : "s"), got \(names.count)")
            }
            inputs.append(try names.enumerated().map { k, name in
                let field = "\(at).inputs[\(k)]"
                if name == "input" { return Graph.modelInput }
                guard let j = index[name] else {
                    throw ModelError.invalidSpec(path: field, message: "unknown input \"\(name)\": inputs are \"input\" or the names of earlier nodes")
                }
                if j == i { throw ModelError.invalidSpec(path: field, message: "node \"\(s.name)\" reads its own output: a cycle") }
                if j > i {
                    if dependsOn(j, i, specs, index) {
                        throw ModelError.invalidSpec(path: field, message: "node \"\(s.name)\" reads \"\(name)\" (nodes[\(j)]), which depends on \"\(s.name)\": a cycle")
                    }
                    throw ModelError.invalidSpec(path: field, message: "node \"\(s.name)\" reads \"\(name)\", which comes later (nodes[\(j)]): list nodes so that every input comes before the nodes reading it")
                }
                return j
            })
            nodes.append(layer)
        }
        let out: Int
        if let output {
            guard let o = index[output] else { throw ModelError.invalidSpec(path: "output", message: "no node named \"\(output)\"") }
            out = o
        } else {
            out = specs.count - 1
        }
        if let l = index["logits"], l != out {
            throw ModelError.invalidSpec(path: "nodes[\(l)].name", message: "\"logits\" names the output; only the output node may be called so")
        }
        return try Graph(nodes: nodes, inputs: inputs, output: out, inputShape: inputShape, shape: shape)
    }

    /// The layer of one node: a graph operator, or any layer `LayerFactory` builds.
    static func node(_ s: LayerSpec, path: String) throws -> Layer {
        switch s.type {
        case "add", "sub", "mul", "div":
            if let v = s.value, !v.isFinite || (s.type == "div" && v == 0) {
                throw ModelError.invalidSpec(path: "\(path).value", message: "must be a finite number\(s.type == "div" ? " other than 0" : ""), got \(v)")
            }
            return Arithmetic(name: s.name, operation: Arithmetic.Operation(rawValue: s.type)!, scalar: s.value)
        case "matmul":
            return MatMul(name: s.name)
        case "concat":
            guard let dims = s.dim else { throw ModelError.invalidSpec(path: "\(path).dim", message: "required for concat") }
            guard let d = dims.single else { throw ModelError.invalidSpec(path: "\(path).dim", message: "concat joins along one dim, got \(dims.values)") }
            return Concat(name: s.name, dim: d)
        case "parameter", "constant":
            guard let shape = s.shape else { throw ModelError.invalidSpec(path: "\(path).shape", message: "required for \(s.type)") }
            guard shape.allSatisfy({ $0 > 0 }) else {
                throw ModelError.invalidSpec(path: "\(path).shape", message: "sizes must be positive, got \(shape)")
            }
            guard s.inputs?.isEmpty ?? true else {
                throw ModelError.invalidSpec(path: "\(path).inputs", message: "a \(s.type) reads no inputs")
            }
            return ParameterNode(name: s.name, shape: shape, trainable: s.type == "parameter")
        default:
            return try LayerFactory.build(s, name: s.name, path: path)
        }
    }

    /// Whether node `from` (an index into `specs`) reads node `target`, directly or through
    /// others (following names, including later ones, to tell a cycle from a misordering).
    static func dependsOn(_ from: Int, _ target: Int, _ specs: [LayerSpec], _ index: [String: Int]) -> Bool {
        var seen = Set<Int>()
        var stack = [from]
        while let v = stack.popLast() {
            guard seen.insert(v).inserted else { continue }
            let names = specs[v].inputs ?? (v == 0 || ["parameter", "constant"].contains(specs[v].type) ? [] : [specs[v - 1].name])
            for name in names {
                guard let j = index[name] else { continue }
                if j == target { return true }
                stack.append(j)
            }
        }
        return false
    }
}
