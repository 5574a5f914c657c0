import TensorEngine

/// The input gradient of a convolution block that ends in a 2×2 / stride 2 max pooling,
/// computed from the pooled gradient without the dense product.
///
/// Why: behind such a pooling at most one position in four of the convolution's output gets
/// any gradient (the window's winner), and behind a ReLU only the winners whose pooled value
/// is positive, so the dense column gradient Wᵀ·dY multiplies mostly zeros. On mnist-madry's
/// second convolution (64 filters of 32×5×5 over 14×14) that product was the largest part of
/// an input-gradient pass. Here each output position's column is summed from the filters of
/// the channels whose winner it is (about one channel in eight there), and folded into the
/// image at once, while it is in cache.
///
/// Each column is Σ_o dY[o, p]·W[o, :] over the channels o in increasing order and each input
/// pixel adds its columns' entries in position order: a fixed order, one image at a time, so
/// the result depends on neither the batch nor the threads. It equals the dense product to
/// float32 rounding (the order of the sums differs from OpenBLAS's).
///
/// Only for layers of at least `pooledInputGradientMinimumFilters` filters: its sums run four
/// floats wide without fused multiply-adds (the package's baseline x86-64 target), so it beats
/// OpenBLAS's AVX2 product only where that product is large. Measured in CPU time of APGD-CE:
/// mnist-madry (32 and 64 filters; 256 images, 10 steps, one chunk) 2.1 s dense, 1.93 s
/// pooled; mnist-small (16 and 32 filters; 112 images, 100 steps, one chunk) 0.89 s dense,
/// 1.09 s pooled, so its layers keep the product.
extension Conv2d {
    /// Fewest filters for which the pooled input gradient replaces the dense product.
    static let pooledInputGradientMinimumFilters = 64

    /// Scratch floats per worker `pooledInputGradient` needs: the padded image gradient, one
    /// column, and the per-window channel lists (as bit patterns).
    static func pooledInputGradientScratch(_ g: ConvGeometry, outChannels: Int) -> Int {
        Im2Col.scratchCount(g) + g.columnRows + 8 * outChannels + 4
    }

    /// One image: `dy` (outChannels × pooled plane) is the gradient at the pooling's output,
    /// `argmax` each window's winner in the convolution's output plane (g.outH × g.outW),
    /// `mask` (when given) the pooled ReLU output, positive where the gradient passes; `w` the
    /// filters (outChannels × columnRows). Writes the whole image gradient `dx` (C×H×W).
    static func pooledInputGradient(dy: UnsafePointer<Float>, argmax: UnsafePointer<Int32>, mask: UnsafePointer<Float>?,
                                    weights w: UnsafePointer<Float>, outChannels O: Int, _ g: ConvGeometry,
                                    into dx: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        let (H, W, OW, K) = (g.height, g.width, g.outW, g.columnRows)
        let (Hp, Wp) = (H + g.padH + g.padBottom, W + g.padW + g.padRight)
        let (kh, kw, sh, sw, dh, dw) = (g.kernelH, g.kernelW, g.strideH, g.strideW, g.dilationH, g.dilationW)
        let (PH, PW) = (g.outH / 2, OW / 2)
        let PP = PH * PW
        let padded = scratch, column = scratch + Im2Col.scratchCount(g)
        // Per window: the channels won at each of its four positions (indices, then values),
        // and how many each has.
        let lists = UnsafeMutableRawPointer(column + K).bindMemory(to: Int32.self, capacity: 4 * O + 4)
        let counts = lists + 4 * O
        let values = column + K + 4 * O + 4
        padded.update(repeating: 0, count: g.channels * Hp * Wp)
        for wy in 0..<PH {
            for wx in 0..<PW {
                let q = wy * PW + wx, corner = 2 * wy * OW + 2 * wx
                counts.update(repeating: 0, count: 4)
                for o in 0..<O {
                    let j = o * PP + q
                    let v = dy[j]
                    // Which of the window's four positions won: 0 top-left, 1 top-right, 2, 3 below.
                    let d = Int(argmax[j]) - corner
                    let s = d < OW ? d : d - OW + 2
                    // Written always, kept (counted) only when the gradient passes: whether it does
                    // is data, and branches on it mispredict.
                    let n = Int(counts[s])
                    lists[s * O + n] = Int32(o)
                    values[s * O + n] = v
                    let passes = v != 0 && (mask.map { $0[j] > 0 } ?? true)
                    counts[s] = Int32(n + (passes ? 1 : 0))
                }
                for s in 0..<4 {
                    let n = Int(counts[s])
                    if n == 0 { continue }
                    sumColumn(lists + s * O, values + s * O, count: n, weights: w, columnRows: K, into: column)
                    // Fold: the column's entry (c, ki, kj) belongs to input pixel (c, y + ki·dh, x + kj·dw)
                    // of the padded plane, (y, x) the window position's top-left input pixel.
                    let origin = padded + (2 * wy + s / 2) * sh * Wp + (2 * wx + s % 2) * sw
                    for c in 0..<g.channels {
                        for ki in 0..<kh {
                            let dst = origin + (c * Hp + ki * dh) * Wp
                            let src = column + (c * kh + ki) * kw
                            if dw == 1 {
                                var kj = 0
                                while kj + 4 <= kw {
                                    let r = UnsafeMutableRawPointer(dst + kj)
                                    r.storeBytes(of: r.loadUnaligned(as: SIMD4<Float>.self)
                                                     + UnsafeRawPointer(src + kj).loadUnaligned(as: SIMD4<Float>.self), as: SIMD4<Float>.self)
                                    kj += 4
                                }
                                while kj < kw { dst[kj] += src[kj]; kj += 1 }
                            } else {
                                for kj in 0..<kw { dst[kj * dw] += src[kj] }
                            }
                        }
                    }
                }
            }
        }
        for c in 0..<g.channels {
            for y in 0..<H {
                (dx + (c * H + y) * W).update(from: padded + (c * Hp + y + g.padH) * Wp + g.padW, count: W)
            }
        }
    }

    /// column[0..<K] = Σ_i values[i]·W[channels[i], :], the channels in the order given,
    /// 32 columns at a time in registers.
    @inline(__always)
    static func sumColumn(_ channels: UnsafePointer<Int32>, _ values: UnsafePointer<Float>, count n: Int,
                          weights w: UnsafePointer<Float>, columnRows K: Int, into column: UnsafeMutablePointer<Float>) {
        let out = UnsafeMutableRawPointer(column)
        var k = 0
        while k + 32 <= K {
            let first = UnsafeRawPointer(w + Int(channels[0]) * K + k), v0 = SIMD8(repeating: values[0])
            var a0 = v0 * first.loadUnaligned(as: SIMD8<Float>.self)
            var a1 = v0 * first.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
            var a2 = v0 * first.loadUnaligned(fromByteOffset: 64, as: SIMD8<Float>.self)
            var a3 = v0 * first.loadUnaligned(fromByteOffset: 96, as: SIMD8<Float>.self)
            for i in 1..<n {
                let r = UnsafeRawPointer(w + Int(channels[i]) * K + k), v = SIMD8(repeating: values[i])
                a0 += v * r.loadUnaligned(as: SIMD8<Float>.self)
                a1 += v * r.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
                a2 += v * r.loadUnaligned(fromByteOffset: 64, as: SIMD8<Float>.self)
                a3 += v * r.loadUnaligned(fromByteOffset: 96, as: SIMD8<Float>.self)
            }
            out.storeBytes(of: a0, toByteOffset: k * 4, as: SIMD8<Float>.self)
            out.storeBytes(of: a1, toByteOffset: k * 4 + 32, as: SIMD8<Float>.self)
            out.storeBytes(of: a2, toByteOffset: k * 4 + 64, as: SIMD8<Float>.self)
            out.storeBytes(of: a3, toByteOffset: k * 4 + 96, as: SIMD8<Float>.self)
            k += 32
        }
        while k + 8 <= K {
            var a = SIMD8(repeating: values[0]) * UnsafeRawPointer(w + Int(channels[0]) * K + k).loadUnaligned(as: SIMD8<Float>.self)
            for i in 1..<n {
                a += SIMD8(repeating: values[i]) * UnsafeRawPointer(w + Int(channels[i]) * K + k).loadUnaligned(as: SIMD8<Float>.self)
            }
            out.storeBytes(of: a, toByteOffset: k * 4, as: SIMD8<Float>.self)
            k += 8
        }
        while k < K {
            var a = values[0] * w[Int(channels[0]) * K + k]
            for i in 1..<n { a += values[i] * w[Int(channels[i]) * K + k] }
            column[k] = a
            k += 1
        }
    }
}
