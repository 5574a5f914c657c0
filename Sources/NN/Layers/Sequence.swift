import TensorEngine

/// Layers applied one after another (PyTorch's nn.Sequential). The model's top level is one,
/// and so are a residual block's body and shortcut.
public final class Sequence: Layer {
    public let name: String
    public var kind: String { "sequential" }
    public var traceIndex = -1
    public let layers: [Layer]
    public var sublayers: [Layer] { layers }

    public init(name: String, layers: [Layer]) {
        self.name = name
        self.layers = layers
    }

    public func outputShape(_ input: [Int]) throws -> [Int] {
        try layers.reduce(input) { try $1.outputShape($0) }
    }

    /// Runs the layers in order. A convolution followed by a ReLU and/or a max pooling runs
    /// as one block (`Conv2d.forwardBlock`): the same outputs, trace and kept activations as
    /// layer by layer, without the passes over memory in between.
    public func forward(_ x: Tensor, _ run: Execution, _ trace: Trace?) -> Tensor {
        var h = x
        var i = 0
        while i < layers.count {
            if let conv = layers[i] as? Conv2d {
                var j = i + 1
                let relu = j < layers.count ? layers[j] as? ReLU : nil
                if relu != nil { j += 1 }
                let pool = j < layers.count ? layers[j] as? MaxPool2d : nil
                if pool != nil { j += 1 }
                if relu != nil || pool != nil {
                    h = forwardBlock(h, conv, relu, pool, run, trace)
                    i = j
                    continue
                }
                // A clamp after the convolution (MobileNet's ReLU6 after every expand and
                // depthwise layer) in a pass without a trace: applied while the product is
                // still in cache, not as a second pass over the activation (same values).
                if trace == nil, i + 1 < layers.count, let clamp = layers[i + 1] as? Pointwise,
                   let bounds = clamp.function.clampBounds, !run.keep.contains(conv.name) {
                    h = conv.forwardBlock(h, run, relu: false, pool: nil, keepConv: true, keepRelu: false, keepArgmax: false,
                                          clamp: bounds).conv!
                    if run.keep.contains(clamp.name) { run.kept[clamp.name] = h }
                    i += 2
                    continue
                }
            }
            let layer = layers[i]
            h = layer.forward(h, run, trace)
            if run.keep.contains(layer.name) { run.kept[layer.name] = h }
            i += 1
        }
        return h
    }

    private func forwardBlock(_ x: Tensor, _ conv: Conv2d, _ relu: ReLU?, _ pool: MaxPool2d?,
                              _ run: Execution, _ trace: Trace?) -> Tensor {
        let keepConv = run.keep.contains(conv.name), keepRelu = relu.map { run.keep.contains($0.name) } ?? false
        // Intermediate outputs are written only when kept; a trace defers them (see `Trace`).
        let out = conv.forwardBlock(x, run, relu: relu != nil, pool: pool,
                                    keepConv: keepConv, keepRelu: keepRelu, keepArgmax: trace != nil)
        let activation = relu != nil ? out.relu : out.conv
        if let trace {
            trace.inputs[conv.traceIndex] = x
            trace.outputs[conv.traceIndex] = out.conv
            trace.saved[conv.traceIndex] = nil
            if let relu {
                trace.inputs[relu.traceIndex] = out.conv
                trace.outputs[relu.traceIndex] = out.relu
                trace.saved[relu.traceIndex] = nil
            }
            if let pool {
                trace.inputs[pool.traceIndex] = activation
                trace.outputs[pool.traceIndex] = out.pool
                trace.saved[pool.traceIndex] = .argmax(out.argmax!)
            }
            if out.conv == nil || (relu != nil && out.relu == nil) {
                let layers = [conv.traceIndex] + [relu?.traceIndex, pool?.traceIndex].compactMap { $0 }
                // The weights as they are now (copy on write keeps them if an optimiser steps).
                let parameters = (weight: conv.weight.value, bias: conv.bias?.value)
                trace.deferSlots(of: layers) { t in
                    // The same computation as above, so the same values.
                    let r = conv.forwardBlock(x, Execution(), relu: relu != nil, pool: nil,
                                              keepConv: true, keepRelu: true, keepArgmax: false, parameters: parameters)
                    t.outputs[conv.traceIndex] = r.conv
                    if let relu {
                        t.inputs[relu.traceIndex] = r.conv
                        t.outputs[relu.traceIndex] = r.relu
                    }
                    if let pool { t.inputs[pool.traceIndex] = relu != nil ? r.relu : r.conv }
                }
            }
        }
        if keepConv { run.kept[conv.name] = out.conv }
        if keepRelu, let relu { run.kept[relu.name] = out.relu }
        if let pool, run.keep.contains(pool.name) { run.kept[pool.name] = out.pool }
        return (pool != nil ? out.pool : activation)!
    }

    /// `dy` may be absent: then nothing flows back until the deepest layer carrying a seed.
    /// A convolution block (convolution, ReLU and/or max pooling) with no seed inside it is
    /// back-propagated in one pass (`Conv2d.backwardBlock`).
    public func backward(optional dy: Tensor?, _ trace: Trace, _ pass: BackwardPass, needInput: Bool) -> Tensor? {
        var g = dy
        var k = layers.count - 1
        while k >= 0 {
            let layer = layers[k]
            if let seed = pass.seeds[layer.name] {
                if g == nil { g = seed } else { g!.add(seed) }
            }
            guard let flowing = g else {
                // Nothing flows from above, but a seed (or an observed layer) inside a residual
                // block starts the flow there.
                if let r = layer as? Residual, r.containsSeedOrObserved(pass) {
                    g = r.backward(optional: nil, trace, pass, needInput: k > 0 || needInput)
                }
                k -= 1
                continue
            }
            if !pass.observe.isEmpty, pass.observe.contains(layer.name) { pass.observed[layer.name] = flowing }
            if let (c, block) = convBlock(endingAt: k, trace, pass) {
                g = block(flowing, c > 0 || needInput)
                k = c - 1
                continue
            }
            g = layer.backward(flowing, trace, pass, needInput: k > 0 || needInput)
            k -= 1
        }
        return g
    }

    /// The convolution block ending at layer `k`, when there is one that can run fused: its
    /// first layer's index and its backward (gradient, needInput) -> input gradient.
    private func convBlock(endingAt k: Int, _ trace: Trace, _ pass: BackwardPass)
        -> (Int, (Tensor, Bool) -> Tensor?)? {
        var c = k
        var pool: MaxPool2d?, relu: ReLU?
        if let p = layers[c] as? MaxPool2d { pool = p; c -= 1 }
        if c >= 0, let r = layers[c] as? ReLU { relu = r; c -= 1 }
        guard c >= 0, c < k, let conv = layers[c] as? Conv2d else { return nil }
        // Seeds or observed gradients inside the block (after the convolution or the ReLU) need
        // the layer-by-layer path.
        if pass.seeds[conv.name] != nil || pass.observe.contains(conv.name) { return nil }
        if let relu, c + 1 < k, pass.seeds[relu.name] != nil || pass.observe.contains(relu.name) { return nil }
        guard let x = trace.inputs.stored(conv.traceIndex) else { return nil }
        // The ReLU's mask: where its output is positive. Behind a max pooling only the
        // winners' mask matters, and a winner's ReLU output is the pooled value.
        var mask: Tensor?
        if let relu {
            guard let m = trace.outputs.stored(pool?.traceIndex ?? relu.traceIndex) else { return nil }
            mask = m
        }
        var routing: (MaxPool2d, [Int32])?
        if let pool {
            guard case .argmax(let a)? = trace.saved[pool.traceIndex] else { return nil }
            routing = (pool, a)
        }
        return (c, { dy, needInput in
            conv.backwardBlock(dy, input: x, reluMask: mask, pool: routing, pass, needInput: needInput)
        })
    }

    public func backward(_ dy: Tensor, _ trace: Trace, _ pass: BackwardPass, needInput: Bool) -> Tensor? {
        backward(optional: dy, trace, pass, needInput: needInput)
    }
}

/// A residual block: body(x) + shortcut(x), the shortcut empty for identity.
/// Its sublayers' names are "<name>.body.<i>" and "<name>.shortcut.<i>", as PyTorch names
/// the state_dict of a module holding two nn.Sequential attributes `body` and `shortcut`.
public final class Residual: Layer {
    public let name: String
    public var kind: String { "residual" }
    public var traceIndex = -1
    public let body: Sequence
    public let shortcut: Sequence
    public var sublayers: [Layer] { [body, shortcut] }

    public init(name: String, body: [Layer], shortcut: [Layer]) {
        self.name = name
        self.body = Sequence(name: name + ".body", layers: body)
        self.shortcut = Sequence(name: name + ".shortcut", layers: shortcut)
        var names = Set<String>()
        func visit(_ l: Layer) { names.insert(l.name); l.sublayers.forEach(visit) }
        [self.body, self.shortcut].forEach(visit)
        innerNames = names
    }

    /// Names of every layer inside the block, at any depth (fixed at init: backward passes on
    /// several threads read it).
    private let innerNames: Set<String>

    public func outputShape(_ input: [Int]) throws -> [Int] {
        let a = try body.outputShape(input)
        let b = try shortcut.outputShape(input)
        guard a == b else {
            throw ModelError.shapeMismatch(layer: name, message: "body gives \(a) but shortcut gives \(b); they must match to be added")
        }
        return a
    }

    public func forward(_ x: Tensor, _ run: Execution, _ trace: Trace?) -> Tensor {
        var y = body.forward(x, run, trace)
        y.add(shortcut.forward(x, run, trace))
        return y
    }

    public func backward(_ dy: Tensor, _ trace: Trace, _ pass: BackwardPass, needInput: Bool) -> Tensor? {
        backward(optional: dy, trace, pass, needInput: needInput)
    }


    /// Whether the backward pass seeds or observes a layer inside the block.
    func containsSeedOrObserved(_ pass: BackwardPass) -> Bool {
        pass.seeds.keys.contains(where: innerNames.contains) || pass.observe.contains(where: innerNames.contains)
    }

    /// `dy` may be absent when the flow starts at a seed inside the block.
    public func backward(optional dy: Tensor?, _ trace: Trace, _ pass: BackwardPass, needInput: Bool) -> Tensor? {
        let viaBody = body.backward(optional: dy, trace, pass, needInput: needInput)
        let viaShortcut = shortcut.backward(optional: dy, trace, pass, needInput: needInput)
        guard needInput else { return nil }
        switch (viaBody, viaShortcut) {
        case let (a?, b?): var s = a; s.add(b); return s
        case let (a?, nil): return a
        case let (nil, b?): return b
        case (nil, nil): return nil
        }
    }
}
