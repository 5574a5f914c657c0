import TensorEngine

/// A classifier built from a `ModelSpec`: the layer tree (a layer list or a graph of named
/// nodes), its parameters with PyTorch's state_dict names, and forward/backward over NCHW
/// batches in the input's pixel range.
///
/// The spec's per-channel mean/std is applied inside the model, so callers (attacks in
/// particular) work in pixel space and the input gradient is with respect to raw pixels.
///
/// Reads (forward, backward) only read parameters and may run concurrently; writes
/// (optimiser steps, loading weights, train-mode batchnorm statistics) need exclusive access,
/// which the caller arranges.
public final class Model: @unchecked Sendable {
    public let spec: ModelSpec
    /// The layer list (a `Sequence`) or the graph (a `Graph`).
    public let root: any ModelBody
    /// Trainable parameters, in state_dict order; `Parameter.index` is the position here.
    public let parameters: [Parameter]
    /// Buffers (batchnorm running statistics), in state_dict order.
    public let buffers: [Parameter]
    /// Every layer, composites included, in forward order (a composite before its sublayers).
    public let layers: [Layer]
    /// Per-item output shape of each layer, by name. (A graph node whose value is the same
    /// for every item, such as a parameter, has its full shape here: see `sharedLayers`.)
    public let outputShapes: [String: [Int]]
    /// The top-level layer (graph node) whose output is the logits.
    public let logitsLayer: String
    /// Graph nodes whose value is the same for every item (parameters, constants and what is
    /// computed from them alone): kept as [N] copies; no gradient can be seeded or observed there.
    public let sharedLayers: Set<String>
    /// What one image costs: the values the layers write and the multiply-adds that make them
    /// (`Model+Footprint.swift`), counted once here.
    public let footprint: Footprint
    /// The graph, for a `nodes` spec.
    public var graph: Graph? { root as? Graph }
    /// Trace slots: one per layer, one more for the model input of a graph.
    var traceSlots: Int { layers.count + 1 }
    private let layersByName: [String: Layer]
    private let normalization: (mean: [Float], invStd: [Float])?

    public var inputShape: [Int] { spec.input.shape }
    public var classCount: Int { outputShapes[logitsLayer]!.reduce(1, *) }

    public init(spec: ModelSpec) throws {
        guard spec.input.shape.count == 3, spec.input.shape.allSatisfy({ $0 > 0 }) else {
            throw ModelError.invalidSpec(path: "input.shape", message: "must be [C, H, W] with positive sizes, got \(spec.input.shape)")
        }
        guard spec.input.range.count == 2, spec.input.range[0] < spec.input.range[1] else {
            throw ModelError.invalidSpec(path: "input.range", message: "must be [low, high] with low < high")
        }
        if spec.nodes == nil {
            guard !spec.layers.isEmpty else { throw ModelError.invalidSpec(path: "layers", message: "must not be empty") }
        } else {
            guard spec.layers.isEmpty else {
                throw ModelError.invalidSpec(path: "nodes", message: "give either layers (a sequential model) or nodes (a graph), not both")
            }
        }
        let channels = spec.input.shape[0]
        for (field, v) in [("mean", spec.input.mean), ("std", spec.input.std)] {
            if let v, v.count != channels && v.count != 1 {
                throw ModelError.invalidSpec(path: "input.\(field)", message: "needs 1 or \(channels) values, got \(v.count)")
            }
        }
        if let std = spec.input.std, std.contains(where: { !($0 > 0) }) {
            throw ModelError.invalidSpec(path: "input.std", message: "values must be positive")
        }
        self.spec = spec
        var shapes: [String: [Int]] = [:]
        func shape(_ l: Layer, _ input: [Int]) throws -> [Int] {
            if let seq = l as? Sequence {
                return try seq.layers.reduce(input) { try shape($1, $0) }
            }
            if let res = l as? Residual {
                _ = try shape(res.body, input)
                _ = try shape(res.shortcut, input)
            }
            let out = try l.outputShape(input)
            shapes[l.name] = out
            return out
        }
        let logits: [Int]
        if let nodes = spec.nodes {
            let graph = try GraphBuilder.build(nodes, output: spec.output, inputShape: spec.input.shape, shape: shape)
            for (v, node) in graph.layers.enumerated() {
                shapes[node.name] = graph.isBatched(v) ? Array(graph.shapes[v].dropFirst()) : graph.shapes[v]
            }
            guard graph.isBatched(graph.output) else {
                throw ModelError.invalidSpec(path: "output", message: "\"\(graph.layers[graph.output].name)\" does not depend on the input")
            }
            root = graph
            logitsLayer = graph.layers[graph.output].name
            logits = shapes[logitsLayer]!
            sharedLayers = Set(graph.layers.indices.filter { !graph.isBatched($0) }.map { graph.layers[$0].name })
        } else {
            let seq = Sequence(name: "", layers: try LayerFactory.build(spec.layers, prefix: "", path: "layers"))
            root = seq
            logitsLayer = seq.layers.last!.name
            logits = try shape(seq, spec.input.shape)
            sharedLayers = []
        }

        var all: [Layer] = []
        func walk(_ l: Layer) {
            l.traceIndex = all.count
            all.append(l)
            l.sublayers.forEach(walk)
        }
        root.layers.forEach(walk)
        layers = all
        (root as? Graph)?.inputSlot = all.count
        layersByName = Dictionary(all.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        parameters = all.flatMap(\.parameters)
        buffers = all.flatMap(\.buffers)
        for (i, p) in parameters.enumerated() { p.index = i }
        if let clash = Model.firstDuplicate((parameters + buffers).map(\.name)) {
            throw ModelError.invalidSpec(path: spec.nodes != nil ? "nodes" : "layers", message: "two tensors would share the state_dict key \"\(clash)\"")
        }

        guard logits.count == 1 else {
            throw ModelError.invalidSpec(path: spec.nodes != nil ? "output" : "layers",
                                         message: "the \(spec.nodes != nil ? "output node" : "last layer") must output a vector of class scores, got shape \(logits)")
        }
        guard spec.classes.isEmpty || spec.classes.count == logits[0] else {
            throw ModelError.invalidSpec(path: "classes", message: "has \(spec.classes.count) labels but the model outputs \(logits[0]) scores")
        }
        outputShapes = shapes
        footprint = Model.footprint(layers: layers, outputShapes: shapes)

        let mean = spec.input.mean.map { $0.count == 1 ? Array(repeating: $0[0], count: channels) : $0 } ?? Array(repeating: 0, count: channels)
        let std = spec.input.std.map { $0.count == 1 ? Array(repeating: $0[0], count: channels) : $0 } ?? Array(repeating: 1, count: channels)
        normalization = (mean.allSatisfy { $0 == 0 } && std.allSatisfy { $0 == 1 }) ? nil : (mean, std.map { 1 / $0 })
    }

    /// The layer with this name ("logits" names the last layer).
    public func layer(named name: String) -> Layer? {
        layersByName[name == "logits" ? logitsLayer : name]
    }

    /// The result of a forward pass.
    public struct Output {
        /// [N, classes] scores.
        public var logits: Tensor
        /// Outputs of the layers named in `keep`.
        public var activations: [String: Tensor]
        /// The record a backward pass needs (when asked for).
        public var trace: Trace?
    }

    /// Runs the model on `x` ([N] + input shape). `keep` names layers whose outputs to return;
    /// `record` keeps everything a backward pass needs.
    public func forward(_ x: Tensor, _ run: Execution, keep: Set<String> = [], record: Bool = false) throws -> Output {
        guard x.rank == 4, Array(x.shape.dropFirst()) == inputShape, x.batch > 0 else {
            throw ModelError.inputShape(expected: inputShape, got: x.shape)
        }
        let resolved = try Set(keep.map { name -> String in
            guard let l = layer(named: name) else { throw ModelError.unknownLayer(name) }
            return l.name
        })
        // Nothing but the logits in eval mode: image by image on the cores (`Model+ImageParallel.swift`).
        if !record, resolved.isEmpty, let logits = imageParallelLogits(x, run) {
            return Output(logits: logits, activations: [:], trace: nil)
        }
        let trace = record ? Trace(layers: traceSlots) : nil
        trace?.inputShape = x.shape
        run.keep = resolved
        run.kept = [:]
        let logits = root.forward(normalize(x), run, trace)
        var kept = run.kept
        if keep.contains("logits") { kept["logits"] = logits }
        for name in resolved where sharedLayers.contains(name) {
            // The same value for every item: one copy per item, as callers expect [N] + shape.
            kept[name] = Tensor.concatenate(Array(repeating: kept[name]!.reshaped([1] + kept[name]!.shape), count: x.batch))
        }
        run.keep = []
        run.kept = [:]
        return Output(logits: logits, activations: kept, trace: trace)
    }

    /// Logits in eval mode, for a batch.
    public func predict(_ x: Tensor, _ run: Execution = Execution()) throws -> Tensor {
        run.mode = .eval
        return try forward(x, run).logits
    }

    /// The result of a backward pass.
    public struct Gradients {
        /// d(seeded objective)/d(raw input pixels), when asked for.
        public var input: Tensor?
        /// d(seeded objective)/d(parameters), when asked for.
        public var parameters: ParameterGradients
        /// d(seeded objective)/d(output of each observed layer), by the name asked for (a layer
        /// no gradient reaches is absent: its gradient is zero).
        public var layers: [String: Tensor] = [:]
    }

    /// Back-propagates gradients placed at any set of layer outputs at once (`seeds`: layer
    /// name, or "logits", to d(objective)/d(that output)). Computes the input gradient and the
    /// parameter gradients only when asked: an attack's input-gradient pass skips every
    /// weight-gradient product.
    /// `observe` names layers whose output gradient to return as well (`Gradients.layers`).
    public func backward(_ trace: Trace, seeds: [String: Tensor], input: Bool, parameters wantParameters: Bool,
                         observe: Set<String> = [], _ run: Execution) throws -> Gradients {
        var resolved: [String: Tensor] = [:]
        for (name, seed) in seeds {
            guard let l = layer(named: name), let out = trace.outputs[l.traceIndex] else {
                throw ModelError.unknownLayer(name)
            }
            guard !sharedLayers.contains(l.name) else { throw Model.sharedLayerError(l.name) }
            guard seed.shape == out.shape else {
                throw ModelError.shapeMismatch(layer: l.name, message: "gradient seed has shape \(seed.shape), the layer's output \(out.shape)")
            }
            if resolved[l.name] == nil { resolved[l.name] = seed } else { resolved[l.name]!.add(seed) }
        }
        let observed = try Dictionary(observe.map { name -> (String, String) in
            guard let l = layer(named: name) else { throw ModelError.unknownLayer(name) }
            guard !sharedLayers.contains(l.name) else { throw Model.sharedLayerError(l.name) }
            return (l.name, name)
        }, uniquingKeysWith: { a, _ in a })
        let pass = BackwardPass(seeds: resolved, wantParameters: wantParameters, parameterCount: parameters.count, execution: run,
                                observe: Set(observed.keys))
        var dx = root.backward(optional: nil, trace, pass, needInput: input)
        if input {
            if dx == nil { dx = Tensor(shape: trace.inputShape) }
            if let (_, invStd) = normalization { dx = scaleChannels(dx!, invStd) }
        }
        var layerGradients: [String: Tensor] = [:]
        for (resolvedName, asked) in observed { layerGradients[asked] = pass.observed[resolvedName] }
        return Gradients(input: input ? dx : nil, parameters: pass.gradients, layers: layerGradients)
    }

    static func sharedLayerError(_ name: String) -> ModelError {
        .shapeMismatch(layer: name, message: "holds the same value for every item (it does not depend on the input), so it has no per-item gradient")
    }

    static func firstDuplicate(_ names: [String]) -> String? {
        var seen = Set<String>()
        return names.first { !seen.insert($0).inserted }
    }

    /// (x - mean[c]) / std[c] per channel, or x itself when the spec normalises nothing.
    func normalize(_ x: Tensor) -> Tensor {
        guard let (mean, invStd) = normalization else { return x }
        var y = x
        let plane = x.shape[2] * x.shape[3], c = x.shape[1]
        y.data.withUnsafeMutableBufferPointer { p in
            for i in 0..<(x.count / plane) {
                let ch = i % c
                for j in (i * plane)..<((i + 1) * plane) { p[j] = (p[j] - mean[ch]) * invStd[ch] }
            }
        }
        return y
    }

    private func scaleChannels(_ x: Tensor, _ factors: [Float]) -> Tensor {
        var y = x
        let plane = x.shape[2] * x.shape[3], c = x.shape[1]
        y.data.withUnsafeMutableBufferPointer { p in
            for i in 0..<(x.count / plane) {
                let f = factors[i % c]
                for j in (i * plane)..<((i + 1) * plane) { p[j] *= f }
            }
        }
        return y
    }

    /// Number of trainable values.
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.value.count } }

    /// Parameter or buffer by state_dict key.
    public func parameter(named key: String) -> Parameter? {
        parameters.first { $0.name == key } ?? buffers.first { $0.name == key }
    }
}
