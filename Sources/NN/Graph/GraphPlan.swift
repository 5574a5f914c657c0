import TensorEngine

/// The order in which a graph's nodes run from one value (the model input, or a top-level
/// node's output for `Model.forward(from:)`), with the runs of single-input layers grouped:
/// a node that reads only its predecessor, which no other node reads, joins its chain, and
/// each chain runs as a `Sequence` (fused convolution blocks, seeds and observed layers
/// inside it handled there). Forward frees each value after its last reader when no trace
/// keeps it; backward visits the steps in reverse, summing the gradients of a value read by
/// several nodes, and skips every step nothing upstream of it needs.
final class GraphPlan {
    enum Step {
        /// Single-input layers in order, reading `source`; the last is node `end`.
        case chain(Sequence, source: Int, end: Int)
        /// A graph operator (node index).
        case node(Int)
    }

    unowned let graph: Graph
    /// The value the plan starts from (`Graph.modelInput` or a node).
    let source: Int
    let steps: [Step]
    /// Per node, how many steps read it (a chain counts once), the output once more.
    let readers: [Int]

    init(_ graph: Graph, from source: Int) {
        self.graph = graph
        self.source = source
        let n = graph.layers.count
        // Nodes that run: all of them from the model input; from a node, the nodes after it
        // that depend on it and the values the same for every item they read.
        var runs = [Bool](repeating: source == Graph.modelInput, count: n)
        if source != Graph.modelInput {
            for v in (source + 1)..<n where graph.inputs[v].contains(where: { $0 == source || ($0 > source && runs[$0]) }) { runs[v] = true }
            var needed = runs
            for v in stride(from: n - 1, through: 0, by: -1) where needed[v] {
                for i in graph.inputs[v] where i != Graph.modelInput && i != source && !runs[i] { needed[i] = true }
            }
            runs = needed
        }
        var consumers = [Int](repeating: 0, count: n)
        for v in 0..<n where runs[v] { for i in graph.inputs[v] where i >= 0 { consumers[i] += 1 } }

        var chains: [(layers: [Layer], source: Int)] = []
        var order: [(chain: Int?, node: Int)] = []
        var chainEndingAt: [Int: Int] = [:]
        for v in 0..<n where runs[v] {
            let node = graph.layers[v]
            if node is GraphOperator {
                order.append((nil, v))
                continue
            }
            let u = graph.inputs[v][0]
            if u >= 0, u != source, u != graph.output, consumers[u] == 1, let c = chainEndingAt.removeValue(forKey: u) {
                chains[c].layers.append(node)
                chainEndingAt[v] = c
            } else {
                chains.append(([node], u))
                chainEndingAt[v] = chains.count - 1
                order.append((chains.count - 1, v))
            }
        }
        let ends = Dictionary(uniqueKeysWithValues: chainEndingAt.map { ($0.value, $0.key) })
        steps = order.map { entry in
            guard let c = entry.chain else { return .node(entry.node) }
            return .chain(Sequence(name: "", layers: chains[c].layers), source: chains[c].source, end: ends[c]!)
        }
        var readers = [Int](repeating: 0, count: n)
        for step in steps {
            switch step {
            case let .chain(_, s, _): if s >= 0 { readers[s] += 1 }
            case let .node(v): for i in graph.inputs[v] where i >= 0 { readers[i] += 1 }
            }
        }
        readers[graph.output] += 1
        self.readers = readers
    }

    /// Runs the steps from `x` (the source's value); returns the output node's value.
    func forward(_ x: Tensor, _ run: Execution, _ trace: Trace?) -> Tensor {
        let graph = self.graph
        var values = [Tensor?](repeating: nil, count: graph.layers.count)
        var left = readers
        func value(_ ref: Int) -> Tensor { ref == source ? x : values[ref]! }
        func release(_ ref: Int) {
            guard ref >= 0, ref != source else { return }
            left[ref] -= 1
            if left[ref] == 0, trace == nil { values[ref] = nil }
        }
        for step in steps {
            switch step {
            case let .chain(seq, s, end):
                let y = seq.forward(value(s), run, trace)
                values[end] = y
                // A composite node (a residual block) records no output of its own.
                if let trace, trace.outputs.stored(graph.layers[end].traceIndex) == nil { trace.outputs[graph.layers[end].traceIndex] = y }
                release(s)
            case let .node(v):
                let op = graph.layers[v] as! GraphOperator
                let y = op.compute(graph.inputs[v].map(value), run)
                values[v] = y
                trace?.outputs[op.traceIndex] = y
                if run.keep.contains(op.name) { run.kept[op.name] = y }
                graph.inputs[v].forEach(release)
            }
        }
        return values[graph.output]!
    }

    /// Back-propagates `dy` at the output (and the seeds of `pass`); returns the gradient at
    /// the source when `needSource`.
    func backward(_ dy: Tensor?, _ trace: Trace, _ pass: BackwardPass, needSource: Bool) -> Tensor? {
        let graph = self.graph
        let n = graph.layers.count
        // Whether a node's output gradient is needed: something at or before it wants one.
        var needs = [Bool](repeating: false, count: n)
        func needed(_ ref: Int) -> Bool { ref == source ? needSource : ref >= 0 && needs[ref] }
        for v in 0..<n {
            let node = graph.layers[v]
            needs[v] = (pass.wantParameters && graph.hasParameters[v]) || graph.inputs[v].contains(where: needed)
                || (!pass.observe.isEmpty && Self.observes(node, pass))
        }
        var grads = [Tensor?](repeating: nil, count: n)
        var atSource: Tensor?
        func add(_ g: Tensor?, to ref: Int) {
            guard let g else { return }
            if ref == source {
                if atSource == nil { atSource = g } else { atSource!.add(g) }
            } else if ref >= 0 {
                if grads[ref] == nil { grads[ref] = g } else { grads[ref]!.add(g) }
            }
        }
        add(dy, to: graph.output)
        for step in steps.reversed() {
            switch step {
            case let .chain(seq, s, end):
                let g = grads[end]
                grads[end] = nil
                guard needs[end] else { continue }
                add(seq.backward(optional: g, trace, pass, needInput: needed(s)), to: s)
            case let .node(v):
                let op = graph.layers[v]
                var g = grads[v]
                grads[v] = nil
                if let seed = pass.seeds[op.name] { if g == nil { g = seed } else { g!.add(seed) } }
                guard let flowing = g, needs[v] else { continue }
                if pass.observe.contains(op.name) { pass.observed[op.name] = flowing }
                let need = graph.inputs[v].map(needed)
                let ins = graph.inputs[v].map { trace.outputs[$0 == source ? slot(source) : graph.slot($0)]! }
                let gs = (op as! GraphOperator).gradients(flowing, inputs: ins, output: trace.outputs[op.traceIndex]!, pass, need: need)
                for (ref, gi) in zip(graph.inputs[v], gs) { add(gi, to: ref) }
            }
        }
        return needSource ? atSource : nil
    }

    /// The trace slot holding the source's value.
    private func slot(_ ref: Int) -> Int { graph.slot(ref) }

    /// Whether `pass` observes the layer or one nested in it.
    static func observes(_ l: Layer, _ pass: BackwardPass) -> Bool {
        pass.observe.contains(l.name) || l.sublayers.contains { observes($0, pass) }
    }
}
