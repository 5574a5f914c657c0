import JSON

/// The graph spec being written (docs/model-format.md, "nodes"): nodes in topological order with
/// explicit inputs, the weights under `<node>.<param>` (state_dict names), and unique node names.
/// Nodes the output does not depend on (shape arithmetic of exporters, dead branches) are
/// dropped by `finished`.
struct SpecGraph {
    struct Node {
        var name: String
        var type: String
        var inputs: [String]
        var fields: [(String, JSONValue)]
    }

    struct Weight {
        var name: String
        var shape: [Int]
        var floats: [Float]
        var dtype: String
    }

    private(set) var nodes: [Node] = []
    private(set) var weights: [Weight] = []
    private var used: Set<String> = ["input"]

    /// `base` if free, else `base_2`, `base_3`, ...
    mutating func uniqueName(_ base: String) -> String {
        var name = base
        var k = 2
        while used.contains(name) {
            name = "\(base)_\(k)"
            k += 1
        }
        used.insert(name)
        return name
    }

    func isUsed(_ name: String) -> Bool { used.contains(name) }

    /// Appends a node whose name was taken by `uniqueName`; returns the name.
    @discardableResult
    mutating func add(_ name: String, _ type: String, inputs: [String], _ fields: [(String, JSONValue)] = []) -> String {
        nodes.append(Node(name: name, type: type, inputs: inputs, fields: fields))
        return name
    }

    mutating func weight(_ name: String, shape: [Int], floats: [Float], dtype: String = "F32") {
        weights.append(Weight(name: name, shape: shape, floats: floats, dtype: dtype))
    }

    /// The nodes `output` depends on, in their original order, with the weights they own.
    func finished(output: String) -> (nodes: [Node], weights: [Weight]) {
        let index = Dictionary(uniqueKeysWithValues: nodes.enumerated().map { ($1.name, $0) })
        var keep = Set<String>()
        var stack = [output]
        while let name = stack.popLast() {
            guard let i = index[name], keep.insert(name).inserted else { continue }
            stack.append(contentsOf: nodes[i].inputs)
        }
        let kept = nodes.filter { keep.contains($0.name) }
        let keptWeights = weights.filter { w in
            keep.contains(w.name) || keep.contains(Self.owner(of: w.name, among: keep))
        }
        return (kept, keptWeights)
    }

    /// The node a `<node>.<param>` key belongs to (node names may hold dots themselves).
    private static func owner(of key: String, among names: Set<String>) -> String {
        guard let dot = key.lastIndex(of: ".") else { return key }
        return String(key[..<dot])
    }
}

/// Numbers as JSON: floats by their shortest decimal form (1e-05, not 9.99999974737875e-06).
extension JSONValue {
    init(float value: Float) {
        self = .number(Double(String(value)) ?? Double(value))
    }

    init(ints: [Int]) { self = .array(ints.map { JSONValue($0) }) }
}
