/// Geometry of a 2-D convolution or pooling window over one C×H×W image: kernel, stride,
/// dilation, and padding that may differ on each side (ONNX pads [top, left, bottom, right]).
public struct ConvGeometry: Sendable, Equatable {
    public let channels: Int, height: Int, width: Int
    public let kernelH: Int, kernelW: Int
    public let strideH: Int, strideW: Int
    /// Padding before the first row / column (top, left).
    public let padH: Int, padW: Int
    /// Padding after the last row / column (bottom, right).
    public let padBottom: Int, padRight: Int
    public let dilationH: Int, dilationW: Int
    /// Output height and width: floor((H + top + bottom - d(k - 1) - 1) / s) + 1, or with
    /// `ceilMode` the ceiling, less one when the last window would start past the top padding
    /// and the input (PyTorch's pooling rule).
    public let outH: Int, outW: Int

    public init(channels: Int, height: Int, width: Int, kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int)) {
        self.init(channels: channels, height: height, width: width, kernel: kernel, stride: stride,
                  pads: (padding.0, padding.1, padding.0, padding.1))
    }

    /// `pads` are (top, left, bottom, right).
    public init(channels: Int, height: Int, width: Int, kernel: (Int, Int), stride: (Int, Int),
                pads: (Int, Int, Int, Int), dilation: (Int, Int) = (1, 1), ceilMode: Bool = false) {
        self.channels = channels; self.height = height; self.width = width
        (kernelH, kernelW) = kernel
        (strideH, strideW) = stride
        (padH, padW, padBottom, padRight) = pads
        (dilationH, dilationW) = dilation
        func size(_ n: Int, _ k: Int, _ s: Int, _ d: Int, _ before: Int, _ after: Int) -> Int {
            let span = n + before + after - d * (k - 1) - 1
            guard s > 0, span >= 0 else { return 0 }
            guard ceilMode else { return span / s + 1 }
            var out = (span + s - 1) / s + 1
            if (out - 1) * s >= n + before { out -= 1 }
            return out
        }
        outH = size(height, kernelH, strideH, dilationH, padH, padBottom)
        outW = size(width, kernelW, strideW, dilationW, padW, padRight)
    }

    /// Rows of the column matrix: C·kh·kw.
    public var columnRows: Int { channels * kernelH * kernelW }
    /// Output positions per image: outH·outW.
    public var patches: Int { outH * outW }
    /// Whether the geometry is plain: no dilation, the same padding on both sides.
    public var isSymmetricUndilated: Bool { dilationH == 1 && dilationW == 1 && padBottom == padH && padRight == padW }
    /// Whether the column matrix of one image is the image itself (C × H·W): a 1×1 kernel
    /// with stride 1 and no padding. Its convolution reads the image in place, no im2col.
    public var isPointwise: Bool {
        kernelH == 1 && kernelW == 1 && strideH == 1 && strideW == 1 && padH == 0 && padW == 0 && padBottom == 0 && padRight == 0
    }
    /// Whether the window fits at least once.
    public var isValid: Bool {
        channels > 0 && kernelH > 0 && kernelW > 0 && strideH > 0 && strideW > 0 && dilationH > 0 && dilationW > 0
            && padH >= 0 && padW >= 0 && padBottom >= 0 && padRight >= 0
            && height + padH + padBottom >= dilationH * (kernelH - 1) + 1
            && width + padW + padRight >= dilationW * (kernelW - 1) + 1 && outH > 0 && outW > 0
    }

    /// Output rows oy whose input row oy·s - top + ki·d lies inside [0, H): [lo, hi).
    @inline(__always)
    func validRows(_ ki: Int) -> (Int, Int) {
        let a = padH - ki * dilationH
        let lo = a <= 0 ? 0 : (a + strideH - 1) / strideH
        let b = height - 1 + padH - ki * dilationH
        let hi = b < 0 ? 0 : min(outH, b / strideH + 1)
        return (min(lo, outH), max(hi, min(lo, outH)))
    }

    /// Output columns ox whose input column ox·s - left + kj·d lies inside [0, W): [lo, hi).
    @inline(__always)
    func validColumns(_ kj: Int) -> (Int, Int) {
        // ox >= ceil((p - kj·d) / s) and ox <= floor((W - 1 + p - kj·d) / s)
        let a = padW - kj * dilationW
        let lo = a <= 0 ? 0 : (a + strideW - 1) / strideW
        let b = width - 1 + padW - kj * dilationW
        let hi = b < 0 ? 0 : min(outW, b / strideW + 1)
        return (min(lo, outW), max(hi, min(lo, outW)))
    }

    /// One tap's valid output rows and columns (`validRows`, `validColumns`) and where output
    /// (0, 0) lands in an input plane through it.
    struct TapSpan {
        var rows: (Int, Int)
        var columns: (Int, Int)
        var origin: Int
    }

    /// `body` over every tap's span, taps in the order (ki, kj): worked out once per unfold or
    /// fold rather than once per channel and tap (four integer divisions each, most of a fold
    /// on ResNet-18-32's small planes).
    @inline(__always)
    func withTapSpans<R>(_ body: (UnsafeMutableBufferPointer<TapSpan>) -> R) -> R {
        withUnsafeTemporaryAllocation(of: TapSpan.self, capacity: max(1, kernelH * kernelW)) { spans in
            for ki in 0..<kernelH {
                let rows = validRows(ki)
                for kj in 0..<kernelW {
                    spans[ki * kernelW + kj] = TapSpan(rows: rows, columns: validColumns(kj),
                                                       origin: (ki * dilationH - padH) * width + (kj * dilationW - padW))
                }
            }
            return body(UnsafeMutableBufferPointer(rebasing: spans[0..<(kernelH * kernelW)]))
        }
    }
}

/// im2col / col2im: unfold an image into the matrix whose product with the filter matrix is
/// the convolution, and fold a column gradient back into image space.
///
/// Layout: row r = (c·kh + ki)·kw + kj of the column matrix holds, for each output position
/// (oy, ox) in row-major order, the input value x[c, oy·sh - ph + ki·dh, ox·sw - pw + kj·dw]
/// (zero outside the image). Rows are `ldcol` floats apart, so several images can sit side
/// by side in one matrix (image b at column offset b·patches) and share one GEMM.
public enum Im2Col {
    /// Unfolds image `x` (C×H×W) into `col` (columnRows × patches, row stride `ldcol`).
    public static func unfold(_ x: UnsafePointer<Float>, _ g: ConvGeometry, into col: UnsafeMutablePointer<Float>, ldcol: Int) {
        let (H, W, OH, OW, KK) = (g.height, g.width, g.outH, g.outW, g.kernelH * g.kernelW)
        let (sh, sw) = (g.strideH, g.strideW)
        g.withTapSpans { spans in
            for c in 0..<g.channels {
                let plane = x + c * H * W
                for tap in 0..<KK {
                    let row = col + (c * KK + tap) * ldcol
                    let ((rowLo, rowHi), (lo, hi), origin) = (spans[tap].rows, spans[tap].columns, spans[tap].origin)
                    if rowLo > 0 { zero(row, rowLo * OW) }
                    for oy in rowLo..<rowHi {
                        let dst = row + oy * OW
                        // src[ox·sw] is input column ox·sw - pw + kj·dw (read for ox in lo..<hi only).
                        let src = plane + oy * sh * W + origin
                        var ox = 0
                        while ox < lo { dst[ox] = 0; ox += 1 }
                        if sw == 1 {
                            while ox < hi { dst[ox] = src[ox]; ox += 1 }
                        } else {
                            while ox < hi { dst[ox] = src[ox * sw]; ox += 1 }
                        }
                        while ox < OW { dst[ox] = 0; ox += 1 }
                    }
                    if rowHi < OH { zero(row + rowHi * OW, (OH - rowHi) * OW) }
                }
            }
        }
    }

    /// Floats of scratch `unfold(_:_:into:ldcol:scratch:)` needs for this geometry.
    public static func scratchCount(_ g: ConvGeometry) -> Int {
        g.channels * (g.height + g.padH + g.padBottom) * (g.width + g.padW + g.padRight)
    }

    /// `unfold`, faster for stride 1: the image is copied once into `scratch` (at least
    /// `scratchCount(g)` floats) with its zero border, after which every row of the column
    /// matrix is made of whole output rows copied without bounds checks. Other strides use
    /// `unfold(_:_:into:ldcol:)`.
    public static func unfold(_ x: UnsafePointer<Float>, _ g: ConvGeometry, into col: UnsafeMutablePointer<Float>, ldcol: Int,
                              scratch: UnsafeMutablePointer<Float>) {
        guard g.strideH == 1, g.strideW == 1 else { return unfold(x, g, into: col, ldcol: ldcol) }
        let (H, W, OH, OW, ph, pw) = (g.height, g.width, g.outH, g.outW, g.padH, g.padW)
        let (pb, pr, dh, dw) = (g.padBottom, g.padRight, g.dilationH, g.dilationW)
        let (Hp, Wp) = (H + ph + pb, W + pw + pr)
        var src = x
        if ph > 0 || pw > 0 || pb > 0 || pr > 0 {
            for c in 0..<g.channels { padPlane(x + c * H * W, g, into: scratch + c * Hp * Wp) }
            src = UnsafePointer(scratch)
        }
        for c in 0..<g.channels {
            for ki in 0..<g.kernelH {
                for kj in 0..<g.kernelW {
                    let row = col + ((c * g.kernelH + ki) * g.kernelW + kj) * ldcol
                    let from = src + (c * Hp + ki * dh) * Wp + kj * dw
                    for oy in 0..<OH { copyRow(from + oy * Wp, row + oy * OW, OW) }
                }
            }
        }
    }

    /// Copies one H×W plane into `to` ((H + top + bottom) × (W + left + right)) inside the
    /// geometry's zero border.
    @inline(__always)
    static func padPlane(_ from: UnsafePointer<Float>, _ g: ConvGeometry, into to: UnsafeMutablePointer<Float>) {
        let (H, W, ph, pw, pr) = (g.height, g.width, g.padH, g.padW, g.padRight)
        let Wp = W + pw + pr
        zero(to, ph * Wp)
        for iy in 0..<H {
            let row = to + (iy + ph) * Wp
            for j in 0..<pw { row[j] = 0 }
            for j in 0..<pr { row[pw + W + j] = 0 }
            copyRow(from + iy * W, row + pw, W)
        }
        zero(to + (ph + H) * Wp, g.padBottom * Wp)
    }

    /// Copies `n` floats between buffers that do not overlap, in 8- and 4-wide pieces (the
    /// last piece may overlap the one before it).
    @inline(__always)
    static func copyRow(_ s: UnsafePointer<Float>, _ d: UnsafeMutablePointer<Float>, _ n: Int) {
        let rs = UnsafeRawPointer(s), rd = UnsafeMutableRawPointer(d)
        if n >= 8 {
            var j = 0
            while j + 8 <= n {
                rd.storeBytes(of: rs.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self), toByteOffset: j * 4, as: SIMD8<Float>.self)
                j += 8
            }
            if j < n {
                let t = (n - 8) * 4
                rd.storeBytes(of: rs.loadUnaligned(fromByteOffset: t, as: SIMD8<Float>.self), toByteOffset: t, as: SIMD8<Float>.self)
            }
        } else if n >= 4 {
            rd.storeBytes(of: rs.loadUnaligned(as: SIMD4<Float>.self), as: SIMD4<Float>.self)
            let t = (n - 4) * 4
            rd.storeBytes(of: rs.loadUnaligned(fromByteOffset: t, as: SIMD4<Float>.self), toByteOffset: t, as: SIMD4<Float>.self)
        } else {
            for j in 0..<n { d[j] = s[j] }
        }
    }

    /// d[j] += s[j] for j in 0..<n (buffers that do not overlap), 8 and 4 at a time.
    @inline(__always)
    static func addRow(_ s: UnsafePointer<Float>, _ d: UnsafeMutablePointer<Float>, _ n: Int) {
        let rs = UnsafeRawPointer(s), rd = UnsafeMutableRawPointer(d)
        var j = 0
        while j + 8 <= n {
            let v = rd.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self) + rs.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
            rd.storeBytes(of: v, toByteOffset: j * 4, as: SIMD8<Float>.self)
            j += 8
        }
        if j + 4 <= n {
            let v = rd.loadUnaligned(fromByteOffset: j * 4, as: SIMD4<Float>.self) + rs.loadUnaligned(fromByteOffset: j * 4, as: SIMD4<Float>.self)
            rd.storeBytes(of: v, toByteOffset: j * 4, as: SIMD4<Float>.self)
            j += 4
        }
        while j < n { d[j] += s[j]; j += 1 }
    }

    @inline(__always)
    static func zero(_ p: UnsafeMutablePointer<Float>, _ count: Int) {
        if count > 0 { p.update(repeating: 0, count: count) }
    }

    /// Folds `col` (columnRows × patches, row stride `ldcol`) back into image gradient `dx`
    /// (C×H×W), adding to what `dx` holds: each input pixel receives the sum over every
    /// window position that read it.
    public static func fold(_ col: UnsafePointer<Float>, ldcol: Int, _ g: ConvGeometry, into dx: UnsafeMutablePointer<Float>) {
        let (H, W, OW, KK) = (g.height, g.width, g.outW, g.kernelH * g.kernelW)
        let (sh, sw) = (g.strideH, g.strideW)
        g.withTapSpans { spans in
            for c in 0..<g.channels {
                let plane = dx + c * H * W, block = col + c * KK * ldcol
                for tap in 0..<KK where spans[tap].columns.0 < spans[tap].columns.1 {
                    let row = block + tap * ldcol, (lo, hi) = spans[tap].columns, origin = spans[tap].origin
                    for oy in spans[tap].rows.0..<spans[tap].rows.1 {
                        let src = row + oy * OW
                        let dst = plane + oy * sh * W + origin
                        if sw == 1 {
                            addRow(src + lo, dst + lo, hi - lo)
                        } else {
                            for ox in lo..<hi { dst[ox * sw] += src[ox] }
                        }
                    }
                }
            }
        }
    }
}
