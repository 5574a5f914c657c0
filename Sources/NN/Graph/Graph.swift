import TensorEngine

/// A model as a directed acyclic graph of named nodes (a `nodes` spec): each node a layer
/// reading one value (conv2d, relu, ...) or a `GraphOperator` reading several (add, concat,
/// matmul) or none (parameter, constant). Nodes are kept in the spec's topological order;
/// every node's output is a "layer" callers can keep, seed and observe by name.
///
/// Runs of single-input layers where each feeds only the next execute as a `Sequence`, so a
/// convolution followed by its ReLU and max pooling runs as the same fused block as in a
/// layer list (see `GraphPlan`).
public final class Graph: ModelBody {
    /// Where a node's input comes from when it is not another node: the (normalised) model input.
    public static let modelInput = -1

    public let name = ""
    public var kind: String { "graph" }
    public var traceIndex = -1
    /// The nodes, in topological order.
    public let layers: [Layer]
    public var sublayers: [Layer] { layers }
    /// Per node, the node indices it reads (`Graph.modelInput` for the model input).
    public let inputs: [[Int]]
    /// The node whose output is the logits.
    public let output: Int
    /// Per node, its full output shape, the batch as `GraphShape.batch`.
    public let shapes: [[Int]]
    /// Per node, whether the model can run from it onward given its output alone (see
    /// `findTopLevel`): what `Model.forward(from:)` and unit ablation need.
    public let topLevel: [Bool]
    /// Per node, whether it or a layer inside it has trainable parameters.
    let hasParameters: [Bool]
    /// Trace slot holding the normalised model input (set by `Model`).
    var inputSlot = -1
    /// The plan of a whole forward pass.
    /// (Built once at the end of `init`, before any pass can read it.)
    private(set) var plan: GraphPlan!

    /// `shape` gives a single-input layer's per-item output shape for a per-item input (the
    /// model records the shapes of layers nested in it there).
    init(nodes: [Layer], inputs: [[Int]], output: Int, inputShape: [Int], shape: (Layer, [Int]) throws -> [Int]) throws {
        layers = nodes
        self.inputs = inputs
        self.output = output
        var shapes: [[Int]] = []
        for (v, node) in nodes.enumerated() {
            let ins = inputs[v].map { $0 == Graph.modelInput ? [GraphShape.batch] + inputShape : shapes[$0] }
            if let op = node as? GraphOperator {
                shapes.append(try op.outputShape(inputs: ins))
            } else {
                guard let x = ins.first, !x.isEmpty else {
                    throw ModelError.shapeMismatch(layer: node.name, message: "reads a scalar; a \(node.kind) layer needs a tensor with a first (batch) dimension")
                }
                shapes.append([x[0]] + (try shape(node, Array(x.dropFirst()))))
            }
        }
        self.shapes = shapes
        hasParameters = nodes.map { node in
            func any(_ l: Layer) -> Bool { !l.parameters.isEmpty || l.sublayers.contains(where: any) }
            return any(node)
        }
        topLevel = Graph.findTopLevel(inputs: inputs, output: output, batched: shapes.map(GraphShape.isBatched))
        plan = GraphPlan(self, from: Graph.modelInput)
    }

    /// Node k is top-level when the output is k or depends on it, and every node depending
    /// on k reads only k, nodes depending on k, or values the same for every item
    /// (parameters, constants): then k's output alone determines the logits.
    static func findTopLevel(inputs: [[Int]], output: Int, batched: [Bool]) -> [Bool] {
        let n = inputs.count
        return (0..<n).map { k in
            var after = [Bool](repeating: false, count: n)
            for v in (k + 1)..<max(n, k + 1) {
                after[v] = inputs[v].contains { $0 == k || ($0 > k && after[$0]) }
            }
            guard output == k || after[output] else { return false }
            for v in (k + 1)..<max(n, k + 1) where after[v] {
                for i in inputs[v] where i != k {
                    if i == Graph.modelInput { return false }
                    if !after[i] && batched[i] { return false }
                }
            }
            return true
        }
    }

    /// Whether node v's output varies per item.
    public func isBatched(_ v: Int) -> Bool { GraphShape.isBatched(shapes[v]) }

    public func outputShape(_ input: [Int]) throws -> [Int] { Array(shapes[output].dropFirst()) }

    public func forward(_ x: Tensor, _ run: Execution, _ trace: Trace?) -> Tensor {
        trace?.outputs[inputSlot] = x
        return plan.forward(x, run, trace)
    }

    public func backward(_ dy: Tensor, _ trace: Trace, _ pass: BackwardPass, needInput: Bool) -> Tensor? {
        backward(optional: dy, trace, pass, needInput: needInput)
    }

    public func backward(optional dy: Tensor?, _ trace: Trace, _ pass: BackwardPass, needInput: Bool) -> Tensor? {
        plan.backward(dy, trace, pass, needSource: needInput)
    }

    /// The trace slot of a value: a node's own, or the model input's.
    func slot(_ ref: Int) -> Int { ref == Graph.modelInput ? inputSlot : layers[ref].traceIndex }
}
