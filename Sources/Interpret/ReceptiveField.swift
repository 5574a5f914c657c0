import NN

/// A rectangle of input pixels, bounds inclusive.
public struct Box: Equatable, Sendable, CustomStringConvertible {
    public var top: Int, left: Int, bottom: Int, right: Int
    public init(top: Int, left: Int, bottom: Int, right: Int) {
        self.top = top
        self.left = left
        self.bottom = bottom
        self.right = right
    }
    public var height: Int { bottom - top + 1 }
    public var width: Int { right - left + 1 }
    public func contains(y: Int, x: Int) -> Bool { (top...bottom).contains(y) && (left...right).contains(x) }
    public var description: String { "rows \(top)...\(bottom), cols \(left)...\(right)" }
}

/// Receptive-field geometry: which input pixels can influence one output location of a layer.
///
/// Derived from the layer chain, not measured: a window layer (convolution, pooling) with
/// kernel k, stride s, padding p and dilation d maps output positions a...b to input
/// positions a*s - p ... b*s - p + d*(k - 1); element-wise layers keep positions; a residual
/// block takes the union of its body's and shortcut's extents; a dense or flatten layer sees
/// the whole input. In a graph the extents of every path from the input to the layer are
/// joined (the union over branches: an add or a channel concatenation keeps positions, a
/// matrix product or a concatenation along a spatial axis sees the whole input). The result
/// is clipped to the image. (The engine's convolutions have no
/// dilation; `Window.dilation` is there so the arithmetic is the general one.)
public enum ReceptiveField {
    /// One axis of a window layer.
    public struct Window: Equatable, Sendable {
        public var kernel: Int, stride: Int, padding: Int, dilation: Int
        public init(kernel: Int, stride: Int = 1, padding: Int = 0, dilation: Int = 1) {
            self.kernel = kernel
            self.stride = stride
            self.padding = padding
            self.dilation = dilation
        }
        /// The input positions that output positions `span` read.
        public func back(_ span: ClosedRange<Int>) -> ClosedRange<Int> {
            (span.lowerBound * stride - padding)...(span.upperBound * stride - padding + dilation * (kernel - 1))
        }
    }

    /// Input-space extent of an output region, per axis; nil = the whole input.
    struct Extent {
        var rows: ClosedRange<Int>?
        var cols: ClosedRange<Int>?
        static let whole = Extent(rows: nil, cols: nil)
        var isWhole: Bool { rows == nil }

        func union(_ o: Extent) -> Extent {
            guard let r = rows, let c = cols, let orow = o.rows, let ocol = o.cols else { return .whole }
            return Extent(rows: min(r.lowerBound, orow.lowerBound)...max(r.upperBound, orow.upperBound),
                          cols: min(c.lowerBound, ocol.lowerBound)...max(c.upperBound, ocol.upperBound))
        }
    }

    /// The input box of output location (y, x) of `layer` (for a dense layer: the whole image).
    public static func box(model: Model, layer name: String, y: Int, x: Int) throws -> Box {
        let target = try ActivationSource.resolve(name, in: model)
        let start = Extent(rows: y...y, cols: x...x)
        let e: Extent
        if let graph = model.graph {
            e = try throughGraph(graph, target: target, start, valid: { ActivationSource.layerNames(model) })
        } else {
            guard let seq = model.root as? NN.Sequence, let chain = prefix(seq, to: target.name) else {
                throw InterpretError.unknownLayer(name: name, valid: ActivationSource.layerNames(model))
            }
            e = chain.reversed().reduce(start) { back($1, $0) }
        }
        let (h, w) = (model.inputShape[1], model.inputShape[2])
        guard let rows = e.rows, let cols = e.cols else { return Box(top: 0, left: 0, bottom: h - 1, right: w - 1) }
        return Box(top: max(0, rows.lowerBound), left: max(0, cols.lowerBound),
                   bottom: min(h - 1, rows.upperBound), right: min(w - 1, cols.upperBound))
    }

    /// The input extent of `start` at `target`'s output in a graph: extents go back node by
    /// node in reverse topological order, and where a value feeds several nodes, the extents
    /// its readers need are joined. A target nested in a node (a residual block) goes back
    /// through that node's layers up to it first.
    static func throughGraph(_ graph: Graph, target: Layer, _ start: Extent, valid: () -> [String]) throws -> Extent {
        let n = graph.layers.count
        var needed = [Extent?](repeating: nil, count: n)
        var atInput: Extent?
        func join(_ e: Extent, at ref: Int) {
            if ref == Graph.modelInput { atInput = atInput.map { $0.union(e) } ?? e } else { needed[ref] = needed[ref].map { $0.union(e) } ?? e }
        }
        guard let v = graph.layers.firstIndex(where: { $0 === target || target.name.hasPrefix($0.name + ".") && prefix(NN.Sequence(name: "", layers: [$0]), to: target.name) != nil }) else {
            throw InterpretError.unknownLayer(name: target.name, valid: valid())
        }
        let first = graph.layers[v] === target
            ? back(target, start, graph.shapes[v].count)
            : prefix(NN.Sequence(name: "", layers: [graph.layers[v]]), to: target.name)!.reversed().reduce(start) { back($1, $0) }
        for ref in graph.inputs[v] { join(first, at: ref) }
        for w in stride(from: v - 1, through: 0, by: -1) {
            guard let e = needed[w] else { continue }
            let before = back(graph.layers[w], e, graph.shapes[w].count)
            for ref in graph.inputs[w] { join(before, at: ref) }
        }
        return atInput ?? .whole
    }

    /// `back` for a graph node whose output has `rank` dimensions (the batch included).
    static func back(_ l: Layer, _ e: Extent, _ rank: Int) -> Extent {
        switch l {
        case is Arithmetic:
            return e
        case let c as Concat:
            // Along the channels positions are kept; along a spatial axis they move.
            let d = c.dim < 0 ? c.dim + rank : c.dim
            return rank == 4 && d == 1 ? e : .whole
        case is GraphOperator:
            return .whole
        default:
            return back(l, e)
        }
    }

    /// The layers the input passes through up to and including `target`, in order; a
    /// residual block that contains the target contributes its body up to the target.
    static func prefix(_ seq: NN.Sequence, to target: String) -> [Layer]? {
        for (i, l) in seq.layers.enumerated() {
            if l.name == target { return Array(seq.layers[...i]) }
            if let r = l as? Residual, target.hasPrefix(r.name + ".") {
                let before = Array(seq.layers[..<i])
                if target == r.body.name || target == r.shortcut.name { return before + [target == r.body.name ? r.body : r.shortcut] }
                if let inner = prefix(r.body, to: target) ?? prefix(r.shortcut, to: target) { return before + inner }
            }
        }
        return nil
    }

    /// The extent at a layer's input that an extent at its output reads.
    static func back(_ l: Layer, _ e: Extent) -> Extent {
        if e.isWhole { return e }
        switch l {
        case let s as NN.Sequence:
            return s.layers.reversed().reduce(e) { back($1, $0) }
        case let r as Residual:
            return back(r.body, e).union(back(r.shortcut, e))
        case let c as Conv2d:
            return apply(e, Window(kernel: c.kernel.0, stride: c.stride.0, padding: c.padding.0),
                         Window(kernel: c.kernel.1, stride: c.stride.1, padding: c.padding.1))
        case let p as MaxPool2d:
            return apply(e, Window(kernel: p.kernel.0, stride: p.stride.0, padding: p.padding.0),
                         Window(kernel: p.kernel.1, stride: p.stride.1, padding: p.padding.1))
        case let p as AvgPool2d:
            return apply(e, Window(kernel: p.kernel.0, stride: p.stride.0, padding: p.padding.0),
                         Window(kernel: p.kernel.1, stride: p.stride.1, padding: p.padding.1))
        case is ReLU, is Pointwise, is BatchNorm2d, is Dropout, is Identity:
            return e
        default:
            // Linear, flatten, adaptive pooling (its windows depend on the input size, so the
            // whole input is the safe bound) and anything unknown: every position may contribute.
            return .whole
        }
    }

    static func apply(_ e: Extent, _ rows: Window, _ cols: Window) -> Extent {
        Extent(rows: rows.back(e.rows!), cols: cols.back(e.cols!))
    }
}
