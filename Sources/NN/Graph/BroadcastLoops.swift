import TensorEngine

/// The loops of numpy broadcasting over concrete tensors: a binary element-wise function of
/// two tensors whose shapes broadcast, and the sum of a gradient back down to an operand's
/// shape (over the dimensions it was broadcast along). Why one place: add, sub, mul and div
/// differ only in the scalar function; their iteration and reduction are the same.
enum BroadcastLoops {
    /// Dimensions merged where every operand is laid out contiguously across them (a
    /// broadcast operand has stride 0 in both), so inner loops run as long as possible.
    struct Layout {
        var sizes: [Int]
        /// Per operand, its stride along each (merged) dimension of the output.
        var strides: [[Int]]
    }

    /// The strides of an operand of shape `shape` read at the positions of `out` (0 where it
    /// is broadcast).
    static func strides(_ shape: [Int], in out: [Int]) -> [Int] {
        var s = [Int](repeating: 0, count: out.count)
        var step = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            let o = i + out.count - shape.count
            s[o] = shape[i] == 1 ? 0 : step
            step *= shape[i]
        }
        return s
    }

    static func layout(_ out: [Int], _ operands: [[Int]]) -> Layout {
        var sizes: [Int] = []
        var strides: [[Int]] = Array(repeating: [], count: operands.count)
        let full = operands.map { Self.strides($0, in: out) }
        for d in 0..<out.count where out[d] != 1 {
            if let last = sizes.indices.last,
               full.indices.allSatisfy({ strides[$0][last] == full[$0][d] * out[d] }) {
                sizes[last] *= out[d]
                for k in full.indices { strides[k][last] = full[k][d] }
            } else {
                sizes.append(out[d])
                for k in full.indices { strides[k].append(full[k][d]) }
            }
        }
        if sizes.isEmpty { sizes = [1]; strides = strides.map { _ in [0] } }
        return Layout(sizes: sizes, strides: strides)
    }

    /// F(a, b) element-wise over the broadcast of the two shapes.
    static func apply<F: ElementFunction>(_ a: Tensor, _ b: Tensor, out shape: [Int], _ f: F.Type) -> Tensor {
        let n = shape.reduce(1, *)
        if a.shape == b.shape {
            return Tensor(uninitializedShape: shape) { o in
                a.data.withUnsafeBufferPointer { ap in
                    b.data.withUnsafeBufferPointer { bp in
                        let (x, y, z) = (ap.baseAddress!, bp.baseAddress!, o.baseAddress!)
                        Parallel.forRanges(n, grain: 1 << 15) { r in for i in r { z[i] = F.of(x[i], y[i]) } }
                    }
                }
            }
        }
        let l = layout(shape, [a.shape, b.shape])
        let inner = l.sizes.last!, sa = l.strides[0].last!, sb = l.strides[1].last!
        let rows = n / max(inner, 1)
        return Tensor(uninitializedShape: shape) { o in
            a.data.withUnsafeBufferPointer { ap in
                b.data.withUnsafeBufferPointer { bp in
                    let (x, y, z) = (ap.baseAddress!, bp.baseAddress!, o.baseAddress!)
                    Parallel.forRanges(rows, grain: max(1, (1 << 15) / max(inner, 1))) { r in
                        for row in r {
                            let (oa, ob) = offsets(row, l)
                            let zr = z + row * inner
                            for j in 0..<inner { zr[j] = F.of(x[oa + j * sa], y[ob + j * sb]) }
                        }
                    }
                }
            }
        }
    }

    /// Offsets into the two operands of the first element of row `row` (all dimensions but
    /// the innermost, in row-major order).
    @inline(__always)
    static func offsets(_ row: Int, _ l: Layout) -> (Int, Int) {
        var rest = row, oa = 0, ob = 0
        var d = l.sizes.count - 2
        while d >= 0 {
            let i = rest % l.sizes[d]
            rest /= l.sizes[d]
            oa += i * l.strides[0][d]
            ob += i * l.strides[1][d]
            d -= 1
        }
        return (oa, ob)
    }

    /// `g` (of the broadcast output's shape) summed down to `shape`: the gradient of an
    /// operand that was broadcast. `g` itself when nothing was broadcast.
    static func reduce(_ g: Tensor, to shape: [Int]) -> Tensor {
        if g.shape == shape { return g }
        if shape.reduce(1, *) == g.count { return g.reshaped(shape) }
        var out = Tensor(shape: shape)
        let l = layout(g.shape, [g.shape, shape])
        let inner = l.sizes.last!, st = l.strides[1].last!
        let rows = g.count / max(inner, 1)
        g.data.withUnsafeBufferPointer { gp in
            out.data.withUnsafeMutableBufferPointer { op in
                let (x, z) = (gp.baseAddress!, op.baseAddress!)
                for row in 0..<rows {
                    let (_, ot) = offsets(row, l)
                    let xr = x + row * inner
                    if st == 0 {
                        var s: Float = 0
                        for j in 0..<inner { s += xr[j] }
                        z[ot] += s
                    } else {
                        for j in 0..<inner { z[ot + j * st] += xr[j] }
                    }
                }
            }
        }
        return out
    }
}

/// The scalar functions `BroadcastLoops.apply` runs, as types: a generic parameter is specialised
/// into the loop, where a closure was called once per element (2% of a ResNet-18-32 FGSM, in an
/// ONNX model's input normalisation alone).
protocol ElementFunction {
    static func of(_ x: Float, _ y: Float) -> Float
}

enum Sum: ElementFunction { @inline(__always) static func of(_ x: Float, _ y: Float) -> Float { x + y } }
enum Difference: ElementFunction { @inline(__always) static func of(_ x: Float, _ y: Float) -> Float { x - y } }
enum Product: ElementFunction { @inline(__always) static func of(_ x: Float, _ y: Float) -> Float { x * y } }
enum Quotient: ElementFunction { @inline(__always) static func of(_ x: Float, _ y: Float) -> Float { x / y } }
/// -x / y: the divisor's gradient of a quotient (with x = dy·y).
enum NegatedQuotient: ElementFunction { @inline(__always) static func of(_ x: Float, _ y: Float) -> Float { -x / y } }
/// x, broadcast to the output's shape.
enum First: ElementFunction { @inline(__always) static func of(_ x: Float, _ y: Float) -> Float { x } }
