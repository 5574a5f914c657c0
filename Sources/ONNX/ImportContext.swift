import JSON

/// The state of one import: what each ONNX value name stands for, the spec graph written so far,
/// and the spec nodes made for constants (one per constant, however many nodes read it).
final class ImportContext {
    var values: [String: ImportedValue] = [:]
    var graph = SpecGraph()
    private var constantNodes: [String: String] = [:]
    /// The graph's nodes, which read each value, and which are taken by an earlier import
    /// (a bias Add fused into its MatMul's linear).
    let nodes: [Onnx_NodeProto]
    let consumers: [String: [Int]]
    let graphOutputs: Set<String>
    var skipped: Set<Int> = []
    /// The fixed batch size of the input in the file (nil when dynamic): a Reshape whose first
    /// dimension is this literal keeps the batch (exports without a dynamic batch axis).
    var exportBatch: Int?

    init(graph: Onnx_GraphProto) {
        nodes = graph.node
        var users: [String: [Int]] = [:]
        for (i, n) in graph.node.enumerated() { for v in n.input where !v.isEmpty { users[v, default: []].append(i) } }
        consumers = users
        graphOutputs = Set(graph.output.map(\.name))
    }

    private init(nodes: [Onnx_NodeProto], consumers: [String: [Int]], graphOutputs: Set<String>) {
        self.nodes = nodes
        self.consumers = consumers
        self.graphOutputs = graphOutputs
    }

    /// A context for running part of the graph at import with a concrete batch size
    /// (AttentionImport): the constants known so far, their batch size marks replaced by
    /// `batch`; no computed values; its spec graph is thrown away.
    func scratch(batch: Int) -> ImportContext {
        let s = ImportContext(nodes: nodes, consumers: consumers, graphOutputs: graphOutputs)
        for (name, value) in values {
            guard case .constant(var t, let initializer) = value else { continue }
            if !t.batchAt.isEmpty, var ints = t.ints {
                for p in t.batchAt { ints[p] = batch }
                t = ConstantTensor(shape: t.shape, ints: ints)
            }
            s.values[name] = .constant(t, initializer: initializer)
        }
        s.exportBatch = batch
        return s
    }

    /// Input `i` of `node`, or nil when the node omits it (absent or empty name).
    func input(_ node: ONNXNode, _ i: Int) throws -> ImportedValue? {
        guard i < node.proto.input.count, !node.proto.input[i].isEmpty else { return nil }
        let name = node.proto.input[i]
        guard let v = values[name] else { throw ONNXError.undefinedValue(name: name, node: node.label) }
        return v
    }

    func required(_ node: ONNXNode, _ i: Int) throws -> ImportedValue {
        guard let v = try input(node, i) else { throw node.unsupported("input \(i) is required") }
        return v
    }

    /// Input `i`, which must be computed at run time (the constant case folds elsewhere).
    func computed(_ node: ONNXNode, _ i: Int) throws -> ComputedTensor {
        switch try required(node, i) {
        case let .computed(t): return t
        case .constant: throw node.unsupported("input \(i) (\"\(node.proto.input[i])\") is a constant where a computed tensor is expected")
        }
    }

    /// Input `i`, which must be known at import time (weights, shapes, axes, pads).
    func constant(_ node: ONNXNode, _ i: Int) throws -> ConstantTensor? {
        switch try input(node, i) {
        case nil: return nil
        case let .constant(c, _)?: return c
        case .computed?: throw node.unsupported("input \(i) (\"\(node.proto.input[i])\") is computed at run time; it must be a constant (an initializer or foldable shape arithmetic)")
        }
    }

    /// Integer values of constant input `i`, refusing the batch size, which is unknown at import.
    func constantInts(_ node: ONNXNode, _ i: Int) throws -> [Int]? {
        guard let c = try constant(node, i) else { return nil }
        guard let ints = c.intValues else { throw node.unsupported("input \(i) must hold integers") }
        guard c.batchAt.isEmpty else { throw node.unsupported("input \(i) depends on the batch size, a dynamic shape this import cannot resolve") }
        return ints
    }

    func initializerName(_ node: ONNXNode, _ i: Int) -> String? {
        guard i < node.proto.input.count, case let .constant(_, name)? = values[node.proto.input[i]] else { return nil }
        return name
    }

    func setOutput(_ node: ONNXNode, _ value: ImportedValue, at i: Int = 0) {
        guard i < node.outputs.count, !node.outputs[i].isEmpty else { return }
        values[node.outputs[i]] = value
    }

    /// The name for the spec node made from `node`. With `parameters` (the initializer names
    /// of its weights), the module path those named `<path>.<suffix>` share — `features.0` for `features.0.weight` and
    /// `features.0.bias`, as PyTorch's exporters keep state_dict names — else the ONNX node
    /// name as a module path (`/layer1/layer1.0/relu/Relu` → `layer1.0.relu`), else the op type.
    func nodeName(_ node: ONNXNode, parameters: [String?] = [], suffix: String? = nil) -> String {
        let paths = parameters.compactMap { $0 }.compactMap(NodeNames.modulePath(ofParameter:))
        if let p = paths.first, paths.allSatisfy({ $0 == p }), !graph.isUsed(p) {
            return graph.uniqueName(suffix.map { "\(p).\($0)" } ?? p)
        }
        let candidates = NodeNames.candidates(onnxName: node.proto.name, opType: node.opType).map { base in
            suffix.map { "\(base).\($0)" } ?? base
        }
        return graph.uniqueName(candidates.first { !graph.isUsed($0) } ?? candidates.last!)
    }

    /// Appends a spec node computing output `i` of `node` from `inputs`.
    @discardableResult
    func emit(_ node: ONNXNode, _ type: String, name: String, inputs: [String], _ fields: [(String, JSONValue)] = [],
              item: [Int], output i: Int = 0) -> ComputedTensor {
        graph.add(name, type, inputs: inputs, fields)
        let t = ComputedTensor(node: name, item: item)
        setOutput(node, .computed(t), at: i)
        return t
    }

    /// The spec node that yields value `i` of `node`: the producing node of a computed value, or
    /// a `parameter`/`constant` node holding a constant (made once per constant). An initializer
    /// with a module-path name (a PyTorch nn.Parameter such as `class_token`) becomes a trainable
    /// `parameter` node under that name; exporter-made constants become `constant` nodes.
    func nodeInput(_ node: ONNXNode, _ i: Int) throws -> String {
        switch try required(node, i) {
        case let .computed(t): return t.node
        case let .constant(c, initializer):
            let valueName = node.proto.input[i]
            if let made = constantNodes[valueName] { return made }
            guard c.batchAt.isEmpty else { throw node.unsupported("input \(i) depends on the batch size, which a constant cannot hold") }
            let trainable = initializer.map(NodeNames.isModulePath) ?? false
            let name = graph.uniqueName(trainable ? initializer! : NodeNames.sanitized(valueName, fallback: "constant"))
            let shape = c.shape.isEmpty ? [1] : c.shape
            graph.add(name, trainable ? "parameter" : "constant", inputs: [], [("shape", JSONValue(ints: shape))])
            graph.weight(name, shape: shape, floats: c.floats)
            constantNodes[valueName] = name
            return name
        }
    }
}
