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

    public func forward(_ x: Tensor, _ run: Execution, _ trace: Trace?) -> Tensor {
        var h = x
        for layer in layers {
            h = layer.forward(h, run, trace)
            if run.keep.contains(layer.name) { run.kept[layer.name] = h }
        }
        return h
    }

    /// `dy` may be absent: then nothing flows back until the deepest layer carrying a seed.
    func backward(optional dy: Tensor?, _ trace: Trace, _ pass: BackwardPass, needInput: Bool) -> Tensor? {
        var g = dy
        for (k, layer) in layers.enumerated().reversed() {
            if let seed = pass.seeds[layer.name] {
                if g == nil { g = seed } else { g!.add(seed) }
            }
            guard let flowing = g else { continue }
            g = layer.backward(flowing, trace, pass, needInput: k > 0 || needInput)
        }
        return g
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
    }

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
