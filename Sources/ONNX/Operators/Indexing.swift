import JSON

/// Gather and Slice (folded on constants; with constant indices on computed tensors, slice
/// nodes plus a reshape where Gather drops the axis) and Pad → pad.
extension ONNXOperators {
    static func gather(_ c: ImportContext, _ node: ONNXNode) throws {
        guard let indices = try c.constant(node, 1), let raw = indices.intValues else { throw node.unsupported("the indices must be integer constants") }
        let a = node.int("axis", default: 0)
        switch try c.required(node, 0) {
        case let .constant(k, _):
            let rank = k.shape.count
            let axis = a < 0 ? a + rank : a
            guard (0..<rank).contains(axis) else { throw node.unsupported("axis \(a) is outside rank \(rank)") }
            let size = k.shape[axis]
            let picked = try raw.map { i -> Int in
                let j = i < 0 ? i + size : i
                guard (0..<size).contains(j) else { throw node.unsupported("index \(i) is outside 0..<\(size)") }
                return j
            }
            let outer = k.shape[..<axis].reduce(1, *), inner = k.shape[(axis + 1)...].reduce(1, *)
            var flat: [Int] = []
            for o in 0..<outer { for p in picked { for i in 0..<inner { flat.append((o * size + p) * inner + i) } } }
            let shape = Array(k.shape[..<axis]) + indices.shape + Array(k.shape[(axis + 1)...])
            c.setOutput(node, .constant(k.taking(flat, shape: shape), initializer: nil))
        case let .computed(x):
            guard let axis = x.axis(a), axis > 0 else { throw node.unsupported("gathering along the batch (axis \(a)) is not supported") }
            guard raw.count == 1 else { throw node.unsupported("only a single constant index is supported on a computed tensor, got \(raw.count)") }
            let size = x.item[axis - 1]
            let i = raw[0] < 0 ? raw[0] + size : raw[0]
            guard (0..<size).contains(i) else { throw node.unsupported("index \(raw[0]) is outside 0..<\(size)") }
            let base = c.nodeName(node)
            var item = x.item
            item[axis - 1] = 1
            let sliced = c.graph.add(indices.shape.isEmpty ? c.graph.uniqueName("\(base).slice") : base, "slice", inputs: [x.node],
                                     [("dim", JSONValue(axis)), ("start", JSONValue(i)), ("end", JSONValue(i + 1)), ("step", 1)])
            if indices.shape.isEmpty {
                item.remove(at: axis - 1)
                c.emit(node, "reshape", name: base, inputs: [sliced], [("shape", JSONValue(ints: [0] + item))], item: item)
            } else {
                c.setOutput(node, .computed(ComputedTensor(node: sliced, item: item)))
            }
        }
    }

    static func slice(_ c: ImportContext, _ node: ONNXNode) throws {
        guard let starts = try c.constantInts(node, 1), let ends = try c.constantInts(node, 2), starts.count == ends.count else {
            throw node.unsupported("starts and ends must be integer constants of one length")
        }
        let data = try c.required(node, 0)
        let fullShape: [Int]
        switch data {
        case let .constant(k, _): fullShape = k.shape
        case let .computed(x): fullShape = [Broadcast.batch] + x.item
        }
        let rank = fullShape.count
        let axes = try c.constantInts(node, 3) ?? Array(0..<starts.count)
        let steps = try c.constantInts(node, 4) ?? [Int](repeating: 1, count: starts.count)
        guard axes.count == starts.count, steps.count == starts.count, steps.allSatisfy({ $0 != 0 }) else {
            throw node.unsupported("axes and steps must match starts, with no zero step")
        }
        // Per axis: the clamped [start, end) and step, as ONNX (and numpy) clamp them.
        var ranges: [(axis: Int, start: Int, end: Int, step: Int)] = []
        for (k, a) in axes.enumerated() {
            let axis = a < 0 ? a + rank : a
            guard (0..<rank).contains(axis) else { throw node.unsupported("axis \(a) is outside rank \(rank)") }
            let size = fullShape[axis]
            if size == Broadcast.batch {
                guard starts[k] == 0, ends[k] >= Int(Int32.max), steps[k] == 1 else { throw node.unsupported("slicing the batch (axis 0) is not supported") }
                continue
            }
            func clamp(_ v: Int, _ low: Int, _ high: Int) -> Int { min(max(v < 0 ? v + size : v, low), high) }
            let step = steps[k]
            let (s, e) = step > 0 ? (clamp(starts[k], 0, size), clamp(ends[k], 0, size)) : (clamp(starts[k], -1, size - 1), clamp(ends[k], -1, size - 1))
            ranges.append((axis, s, e, step))
        }
        func count(_ r: (axis: Int, start: Int, end: Int, step: Int)) -> Int {
            r.step > 0 ? max(0, (r.end - r.start + r.step - 1) / r.step) : max(0, (r.start - r.end - r.step - 1) / -r.step)
        }
        switch data {
        case let .constant(k, _):
            var shape = k.shape
            var picks = shape.map { Array(0..<$0) }
            for r in ranges {
                picks[r.axis] = (0..<count(r)).map { r.start + $0 * r.step }
                shape[r.axis] = picks[r.axis].count
            }
            let strides = ConstantTensor.strides(k.shape)
            var flat: [Int] = [0]
            for d in 0..<shape.count { flat = flat.flatMap { base in picks[d].map { base + $0 * strides[d] } } }
            c.setOutput(node, .constant(k.taking(flat, shape: shape), initializer: nil))
        case let .computed(x):
            var current = x
            let base = c.nodeName(node)
            let needed = ranges.filter { !($0.start == 0 && $0.end == fullShape[$0.axis] && $0.step == 1) }
            guard needed.allSatisfy({ $0.step > 0 }) else { throw node.unsupported("negative steps on a computed tensor are not supported") }
            for (k, r) in needed.enumerated() {
                var item = current.item
                item[r.axis - 1] = count(r)
                guard item[r.axis - 1] > 0 else { throw node.unsupported("the slice along axis \(r.axis) is empty") }
                let name = k == needed.count - 1 ? base : c.graph.uniqueName("\(base).\(k)")
                c.graph.add(name, "slice", inputs: [current.node],
                            [("dim", JSONValue(r.axis)), ("start", JSONValue(r.start)), ("end", JSONValue(r.end)), ("step", JSONValue(r.step))])
                current = ComputedTensor(node: name, item: item)
            }
            c.setOutput(node, .computed(current))
        }
    }

    static func pad(_ c: ImportContext, _ node: ONNXNode) throws {
        let x = try c.computed(node, 0)
        guard let given = try c.constantInts(node, 1) else { throw node.unsupported("pads must be an integer constant") }
        var pads = [Int](repeating: 0, count: 2 * x.rank)
        let axes = try c.constantInts(node, 3) ?? Array(0..<x.rank)
        guard given.count == 2 * axes.count else { throw node.unsupported("pads holds \(given.count) values for \(axes.count) axes") }
        for (k, a) in axes.enumerated() {
            guard let axis = x.axis(a) else { throw node.unsupported("axis \(a) is outside rank \(x.rank)") }
            (pads[axis], pads[axis + x.rank]) = (given[k], given[k + axes.count])
        }
        guard pads[0] == 0, pads[x.rank] == 0 else { throw node.unsupported("padding the batch is not supported") }
        guard pads.allSatisfy({ $0 >= 0 && $0 <= ONNXImporter.maxDimension }) else { throw node.unsupported("pads \(pads) are negative (cropping, not supported) or too large") }
        let value = try c.constant(node, 2)?.floats.first ?? 0
        let mode: String
        switch node.string("mode", default: "constant") {
        case "constant": mode = "constant"
        case "reflect": mode = "reflect"
        case "edge": mode = "replicate"
        case let m: throw node.unsupported("mode \(m) is not constant, reflect or edge")
        }
        let item = x.item.indices.map { x.item[$0] + pads[$0 + 1] + pads[$0 + 1 + x.rank] }
        var fields: [(String, JSONValue)] = [("pads", JSONValue(ints: pads)), ("mode", .string(mode))]
        if mode == "constant" { fields.append(("value", JSONValue(float: value))) }
        c.emit(node, "pad", name: c.nodeName(node), inputs: [x.node], fields, item: item)
    }
}
