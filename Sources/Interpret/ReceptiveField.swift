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
/// kernel k, stride s, top/left padding p and dilation d maps output positions a...b to input
/// positions a*s - p ... b*s - p + d*(k - 1); a pad layer maps each position to the one it
/// copies (none for a constant border, the mirrored or edge one otherwise); a slice along H or
/// W maps y to start + y*step; element-wise layers (and softmax or a mean over channels alone)
/// keep positions; a residual block takes the union of its body's and shortcut's extents; a
/// dense, flatten, reshape, transpose, layernorm or spatial mean layer sees the whole input.
/// Each layer's output extent is first clipped to its output size (from the model's shapes),
/// so positions in a later layer's padding, or past a ceil-mode window, read nothing.
/// In a graph the extents of every path from the input to the layer are joined (the union over
/// branches: an add or a channel concatenation keeps positions, a matrix product or a
/// concatenation along a spatial axis sees the whole input). The result is clipped to the image.
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
        /// A region that reads nothing (it lies wholly in padding).
        var isEmpty = false
        static let whole = Extent(rows: nil, cols: nil)
        static let empty = Extent(rows: 0...0, cols: 0...0, isEmpty: true)
        var isWhole: Bool { rows == nil && !isEmpty }

        func union(_ o: Extent) -> Extent {
            if isEmpty { return o }
            if o.isEmpty { return self }
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
            e = try throughGraph(graph, target: target, start, shapes: model.outputShapes, valid: { ActivationSource.layerNames(model) })
        } else {
            guard let seq = model.root as? NN.Sequence, let chain = prefix(seq, to: target.name) else {
                throw InterpretError.unknownLayer(name: name, valid: ActivationSource.layerNames(model))
            }
            e = chain.reversed().reduce(start) { back($1, $0, shapes: model.outputShapes) }
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
    static func throughGraph(_ graph: Graph, target: Layer, _ start: Extent, shapes: [String: [Int]],
                             valid: () -> [String]) throws -> Extent {
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
            ? back(target, start, graph.shapes[v].count, shapes: shapes)
            : prefix(NN.Sequence(name: "", layers: [graph.layers[v]]), to: target.name)!.reversed().reduce(start) { back($1, $0, shapes: shapes) }
        for ref in graph.inputs[v] { join(first, at: ref) }
        for w in stride(from: v - 1, through: 0, by: -1) {
            guard let e = needed[w] else { continue }
            let before = back(graph.layers[w], e, graph.shapes[w].count, shapes: shapes)
            for ref in graph.inputs[w] { join(before, at: ref) }
        }
        return atInput ?? .whole
    }

    /// `back` for a graph node whose output has `rank` dimensions (the batch included).
    static func back(_ l: Layer, _ e: Extent, _ rank: Int, shapes: [String: [Int]]) -> Extent {
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
            return back(l, e, shapes: shapes)
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

    /// The extent at a layer's input that an extent at its output reads. `shapes` (per-item
    /// output shapes by layer name) clip the extent to the layer's output first; without them
    /// nothing is clipped.
    static func back(_ l: Layer, _ e: Extent, shapes: [String: [Int]] = [:]) -> Extent {
        if e.isWhole || e.isEmpty { return e }
        switch l {
        case let s as NN.Sequence:
            return s.layers.reversed().reduce(e) { back($1, $0, shapes: shapes) }
        case let r as Residual:
            return back(r.body, e, shapes: shapes).union(back(r.shortcut, e, shapes: shapes))
        case let c as Conv2d:
            return apply(clip(e, shapes[c.name]),
                         Window(kernel: c.kernel.0, stride: c.stride.0, padding: c.pads.0, dilation: c.dilation.0),
                         Window(kernel: c.kernel.1, stride: c.stride.1, padding: c.pads.1, dilation: c.dilation.1))
        case let p as MaxPool2d:
            let w = p.window
            return apply(clip(e, shapes[p.name]), Window(kernel: w.kernel.0, stride: w.stride.0, padding: w.pads.0, dilation: w.dilation.0),
                         Window(kernel: w.kernel.1, stride: w.stride.1, padding: w.pads.1, dilation: w.dilation.1))
        case let p as AvgPool2d:
            let w = p.window
            return apply(clip(e, shapes[p.name]), Window(kernel: w.kernel.0, stride: w.stride.0, padding: w.pads.0),
                         Window(kernel: w.kernel.1, stride: w.stride.1, padding: w.pads.1))
        case let p as Pad:
            return pad(p, clip(e, shapes[p.name]), shapes[p.name])
        case let s as Slice:
            guard let out = shapes[s.name], out.count == 3 else { return .whole }
            let axis = s.dim < 0 ? s.dim + 4 : s.dim
            if axis == 1 { return e }
            let c = clip(e, out)
            if c.isEmpty { return c }
            // The input's size along the axis: the first index of a slice depends on it.
            let (rows, cols) = (c.rows!, c.cols!)
            func map(_ r: ClosedRange<Int>, _ inSize: Int) -> ClosedRange<Int> {
                let first = s.range(inSize).0
                return (first + r.lowerBound * s.step)...(first + r.upperBound * s.step)
            }
            guard let item = s.inputShape, item.count == 3 else { return .whole }
            let inSize = item[axis - 1]
            return axis == 2 ? Extent(rows: map(rows, inSize), cols: cols) : Extent(rows: rows, cols: map(cols, inSize))
        case let s as Softmax:
            // Over channels each position is its own; over H or W positions mix.
            let rank = (shapes[s.name]?.count ?? 0) + 1
            return rank == 4 && (s.dim == 1 || s.dim == -3) ? e : .whole
        case let m as Mean:
            guard m.keepdim, shapes[m.name]?.count == 3, m.dims.allSatisfy({ $0 == 1 || $0 == -3 }) else { return .whole }
            return e
        case is ReLU, is Pointwise, is BatchNorm2d, is Dropout, is StochasticDepth, is Identity:
            return e
        default:
            // Linear, flatten, reshape, transpose, layernorm, adaptive pooling (its windows depend
            // on the input size, so the whole input is the safe bound) and anything unknown:
            // every position may contribute.
            return .whole
        }
    }

    static func apply(_ e: Extent, _ rows: Window, _ cols: Window) -> Extent {
        if e.isEmpty { return e }
        return Extent(rows: rows.back(e.rows!), cols: cols.back(e.cols!))
    }

    /// `e` clipped to an output of per-item shape `shape` ([C, H, W]); empty when outside it.
    static func clip(_ e: Extent, _ shape: [Int]?) -> Extent {
        guard let shape, shape.count == 3, let r = e.rows, let c = e.cols else { return e }
        let rows = max(r.lowerBound, 0)...max(min(r.upperBound, shape[1] - 1), max(r.lowerBound, 0))
        let cols = max(c.lowerBound, 0)...max(min(c.upperBound, shape[2] - 1), max(c.lowerBound, 0))
        if r.upperBound < 0 || c.upperBound < 0 || r.lowerBound >= shape[1] || c.lowerBound >= shape[2] { return .empty }
        return Extent(rows: rows, cols: cols)
    }

    /// The input extent a pad layer's (clipped) output extent copies from.
    static func pad(_ p: Pad, _ e: Extent, _ out: [Int]?) -> Extent {
        guard !e.isEmpty else { return e }
        guard let out, out.count == 3, p.pads.count == 8 else { return .whole }
        let inShape = [1] + out.enumerated().map { i, n in n - p.amounts(i + 1).0 - p.amounts(i + 1).1 }
        let maps = p.sourceIndices(inShape)
        func image(_ r: ClosedRange<Int>, _ axis: Int) -> ClosedRange<Int>? {
            let read = r.map { maps[axis][$0] }.filter { $0 >= 0 }
            guard let lo = read.min(), let hi = read.max() else { return nil }
            return lo...hi
        }
        guard let rows = image(e.rows!, 2), let cols = image(e.cols!, 3) else { return .empty }
        return Extent(rows: rows, cols: cols)
    }

}
