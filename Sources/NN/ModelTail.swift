import TensorEngine

/// Running the model from a hidden layer onward: given (possibly edited) outputs of one
/// top-level layer, the logits they lead to. Explanations ablate units this way: a batch of
/// copies of one activation, each with one unit zeroed, costs one pass through the layers
/// after it instead of one whole-model pass per unit.
extension Model {
    /// The layers the model can run from (`forward(from:)`): a layer list's top level; a
    /// graph's nodes whose output alone determines the logits (`Graph.topLevel`: not a node
    /// inside a residual branch, whose sum also reads the shortcut).
    public var topLevelLayers: [Layer] {
        guard let graph else { return root.layers }
        return graph.layers.indices.filter { graph.topLevel[$0] }.map { graph.layers[$0] }
    }

    /// Position in `root.layers` of the layer named `name` ("logits" names the last).
    /// Layers that are not top-level (see `topLevelLayers`) are refused.
    public func topLevelIndex(of name: String) throws -> Int {
        guard let l = layer(named: name) else { throw ModelError.unknownLayer(name) }
        guard let i = root.layers.firstIndex(where: { $0 === l }), graph?.topLevel[i] ?? true else {
            let what = graph == nil ? "is inside a block" : "is inside a branch (nodes after it read other values that depend on the input)"
            throw ModelError.shapeMismatch(layer: l.name, message: "\(what); running from it needs a top-level layer (one of \(topLevelLayers.map(\.name).joined(separator: ", ")))")
        }
        return i
    }

    /// The logits for `activation`, taken as the output of top-level layer `layer`
    /// ([N] + that layer's output shape), in the execution's mode. With `record`, the trace
    /// feeds `backwardToLayer`.
    public func forward(from layer: String, _ activation: Tensor, _ run: Execution, record: Bool = false) throws -> Output {
        let k = try topLevelIndex(of: layer)
        let name = root.layers[k].name
        guard activation.rank >= 2, Array(activation.shape.dropFirst()) == outputShapes[name]!, activation.batch > 0 else {
            throw ModelError.shapeMismatch(layer: name, message: "activation has shape \(activation.shape), the layer outputs [N] + \(outputShapes[name]!)")
        }
        let trace = record ? Trace(layers: traceSlots) : nil
        trace?.inputShape = activation.shape
        run.keep = []
        run.kept = [:]
        let logits: Tensor
        if let graph {
            trace?.outputs[graph.layers[k].traceIndex] = activation
            logits = k == graph.output ? activation : GraphPlan(graph, from: k).forward(activation, run, trace)
        } else {
            let tail = Sequence(name: "", layers: Array(root.layers[(k + 1)...]))
            logits = tail.forward(activation, run, trace)
        }
        return Output(logits: logits, activations: [:], trace: trace)
    }

    /// d(objective)/d(activation) for a `forward(from: layer, ...)` trace, with the objective's
    /// gradient at the logits given as `seed`.
    public func backwardToLayer(_ layer: String, _ trace: Trace, seed: Tensor, _ run: Execution) throws -> Tensor {
        let k = try topLevelIndex(of: layer)
        if k == root.layers.count - 1 && graph == nil || k == graph?.output { return seed }
        let pass = BackwardPass(seeds: [logitsLayer: seed], wantParameters: false, parameterCount: parameters.count, execution: run)
        if let graph {
            return GraphPlan(graph, from: k).backward(nil, trace, pass, needSource: true) ?? Tensor(shape: trace.inputShape)
        }
        let tail = Sequence(name: "", layers: Array(root.layers[(k + 1)...]))
        return tail.backward(optional: nil, trace, pass, needInput: true) ?? Tensor(shape: trace.inputShape)
    }
}
