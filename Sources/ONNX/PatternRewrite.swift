/// Patterns of several ONNX nodes that import as one spec node, found before the walk (the
/// exporter's spelling of an operator the opset lacks): the nodes of a match are skipped but
/// its last, where the one node is written.
enum PatternRewrite: Equatable {
    case skip
    /// PyTorch's Erf form of GELU: a gelu of this ONNX value here (GELUPattern).
    case gelu(String)
    /// LayerNorm exported below opset 17 (LayerNormPattern).
    case layerNorm(LayerNormMatch)
}

/// The graph's nodes indexed for pattern matching: who produces and who reads each value, and
/// scalar constants (initializers and Constant nodes).
struct NodeIndex {
    let nodes: [Onnx_NodeProto]
    let constants: [String: ImportedValue]
    private(set) var producer: [String: Int] = [:]
    private(set) var consumers: [String: [Int]] = [:]
    let graphOutputs: Set<String>

    init(_ nodes: [Onnx_NodeProto], constants: [String: ImportedValue], graphOutputs: Set<String> = []) {
        self.nodes = nodes
        self.constants = constants
        self.graphOutputs = graphOutputs
        for (i, n) in nodes.enumerated() {
            for o in n.output { producer[o] = i }
            for v in n.input where !v.isEmpty { consumers[v, default: []].append(i) }
        }
    }

    /// The value of a one-element float constant (an initializer or a Constant node's).
    func scalar(_ name: String) -> Float? {
        if case let .constant(k, _)? = constants[name], k.count == 1, !k.isInteger { return k.floats[0] }
        if let p = producer[name], nodes[p].opType == "Constant",
           let t = nodes[p].attribute.first(where: { $0.name == "value" })?.t,
           let k = try? ConstantTensor(t, name: name), k.count == 1 { return k.floats[0] }
        return nil
    }

    func near(_ v: Float?, _ target: Float) -> Bool { v.map { abs($0 - target) < 1e-4 * max(1, abs(target)) } ?? false }

    /// The other input of a binary node, given one of them.
    func other(_ n: Onnx_NodeProto, _ known: String) -> String? {
        guard n.input.count == 2 else { return nil }
        if n.input[0] == known { return n.input[1] }
        if n.input[1] == known { return n.input[0] }
        return nil
    }

    /// The one node reading `value` (nil when none, several, or it is a graph output).
    func onlyUser(_ value: String) -> Int? {
        guard let users = consumers[value], users.count == 1, !graphOutputs.contains(value) else { return nil }
        return users[0]
    }

    func users(_ value: String) -> [Int] { consumers[value] ?? [] }
}
