/// Geometry of a 2-D convolution or pooling window over one C×H×W image.
public struct ConvGeometry: Sendable, Equatable {
    public let channels: Int, height: Int, width: Int
    public let kernelH: Int, kernelW: Int
    public let strideH: Int, strideW: Int
    public let padH: Int, padW: Int
    /// Output height and width: floor((H + 2p - k) / s) + 1.
    public let outH: Int, outW: Int

    public init(channels: Int, height: Int, width: Int, kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int)) {
        self.channels = channels; self.height = height; self.width = width
        (kernelH, kernelW) = kernel
        (strideH, strideW) = stride
        (padH, padW) = padding
        outH = (height + 2 * padH - kernelH) / strideH + 1
        outW = (width + 2 * padW - kernelW) / strideW + 1
    }

    /// Rows of the column matrix: C·kh·kw.
    public var columnRows: Int { channels * kernelH * kernelW }
    /// Output positions per image: outH·outW.
    public var patches: Int { outH * outW }
    /// Whether the window fits at least once.
    public var isValid: Bool {
        // The window must fit the padded input (integer division truncates toward zero, so
        // outH alone would claim one position for a kernel larger than the input).
        channels > 0 && kernelH > 0 && kernelW > 0 && strideH > 0 && strideW > 0 && padH >= 0 && padW >= 0
            && height + 2 * padH >= kernelH && width + 2 * padW >= kernelW && outH > 0 && outW > 0
    }

    /// Output columns ox whose input column ox·s - p + kj lies inside [0, W): [lo, hi).
    @inline(__always)
    func validColumns(_ kj: Int) -> (Int, Int) {
        // ox >= ceil((p - kj) / s) and ox <= floor((W - 1 + p - kj) / s)
        let a = padW - kj
        let lo = a <= 0 ? 0 : (a + strideW - 1) / strideW
        let b = width - 1 + padW - kj
        let hi = b < 0 ? 0 : min(outW, b / strideW + 1)
        return (min(lo, outW), max(hi, min(lo, outW)))
    }
}

/// im2col / col2im: unfold an image into the matrix whose product with the filter matrix is
/// the convolution, and fold a column gradient back into image space.
///
/// Layout: row r = (c·kh + ki)·kw + kj of the column matrix holds, for each output position
/// (oy, ox) in row-major order, the input value x[c, oy·sh - ph + ki, ox·sw - pw + kj]
/// (zero outside the image). Rows are `ldcol` floats apart, so several images can sit side
/// by side in one matrix (image b at column offset b·patches) and share one GEMM.
public enum Im2Col {
    /// Unfolds image `x` (C×H×W) into `col` (columnRows × patches, row stride `ldcol`).
    public static func unfold(_ x: UnsafePointer<Float>, _ g: ConvGeometry, into col: UnsafeMutablePointer<Float>, ldcol: Int) {
        let (H, W, OH, OW) = (g.height, g.width, g.outH, g.outW)
        for c in 0..<g.channels {
            let plane = x + c * H * W
            for ki in 0..<g.kernelH {
                for kj in 0..<g.kernelW {
                    let row = col + ((c * g.kernelH + ki) * g.kernelW + kj) * ldcol
                    let (lo, hi) = g.validColumns(kj)
                    let x0 = lo * g.strideW - g.padW + kj
                    for oy in 0..<OH {
                        let dst = row + oy * OW
                        let iy = oy * g.strideH - g.padH + ki
                        if iy < 0 || iy >= H {
                            dst.update(repeating: 0, count: OW)
                            continue
                        }
                        if lo > 0 { dst.update(repeating: 0, count: lo) }
                        let src = plane + iy * W + x0
                        if g.strideW == 1 {
                            (dst + lo).update(from: src, count: hi - lo)
                        } else {
                            var s = 0
                            for ox in lo..<hi { dst[ox] = src[s]; s += g.strideW }
                        }
                        if hi < OW { (dst + hi).update(repeating: 0, count: OW - hi) }
                    }
                }
            }
        }
    }

    /// Folds `col` (columnRows × patches, row stride `ldcol`) back into image gradient `dx`
    /// (C×H×W), adding to what `dx` holds: each input pixel receives the sum over every
    /// window position that read it.
    public static func fold(_ col: UnsafePointer<Float>, ldcol: Int, _ g: ConvGeometry, into dx: UnsafeMutablePointer<Float>) {
        let (H, W, OH, OW) = (g.height, g.width, g.outH, g.outW)
        for c in 0..<g.channels {
            let plane = dx + c * H * W
            for ki in 0..<g.kernelH {
                for kj in 0..<g.kernelW {
                    let row = col + ((c * g.kernelH + ki) * g.kernelW + kj) * ldcol
                    let (lo, hi) = g.validColumns(kj)
                    if lo >= hi { continue }
                    let x0 = lo * g.strideW - g.padW + kj
                    for oy in 0..<OH {
                        let iy = oy * g.strideH - g.padH + ki
                        if iy < 0 || iy >= H { continue }
                        let src = row + oy * OW
                        let dst = plane + iy * W + x0
                        if g.strideW == 1 {
                            for ox in lo..<hi { dst[ox - lo] += src[ox] }
                        } else {
                            var d = 0
                            for ox in lo..<hi { dst[d] += src[ox]; d += g.strideW }
                        }
                    }
                }
            }
        }
    }
}
