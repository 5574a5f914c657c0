import CGEMM
import TensorEngine

/// The direct kernels of a depthwise convolution (one input channel per group, as MobileNet's
/// and EfficientNet's 3×3 and 5×5 layers). Why not im2col + GEMM: with one input channel the
/// product has kh·kw rows and one (or a few) filter rows, a matrix-vector product that spends
/// its time copying columns; here each output row is summed from kh·kw shifted input rows of
/// the zero-padded plane, sixteen outputs at a time in registers (`Sources/CGEMM/depthwise.c`).
extension Conv2d {
    /// The plane (g.height × g.width at `src`) with its zero border, and its row length: `src`
    /// itself without padding, else a copy in `scratch` (at least `Im2Col.scratchCount(g)`
    /// floats for one channel).
    @inline(__always)
    static func paddedPlane(_ src: UnsafePointer<Float>, _ g: ConvGeometry, scratch: UnsafeMutablePointer<Float>) -> (UnsafePointer<Float>, Int) {
        let (H, W, top, left) = (g.height, g.width, g.padH, g.padW)
        guard top > 0 || left > 0 || g.padBottom > 0 || g.padRight > 0 else { return (src, W) }
        let (Hp, Wp) = (H + top + g.padBottom, W + left + g.padRight)
        scratch.update(repeating: 0, count: Hp * Wp)
        for iy in 0..<H { (scratch + (iy + top) * Wp + left).update(from: src + iy * W, count: W) }
        return (UnsafePointer(scratch), Wp)
    }

    /// One output plane (g.patches values at `dst`) of one input plane (`src`) and its
    /// kh·kw `weights`, without bias (`advlens_depthwise_plane`: per output, the kh·kw products
    /// added in order from zero, 16 outputs of a row per AVX-512 vector).
    static func depthwisePlane(_ src: UnsafePointer<Float>, _ g: ConvGeometry, weights w: UnsafePointer<Float>,
                               into dst: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        let (base, Wp) = paddedPlane(src, g, scratch: scratch)
        advlens_depthwise_plane(base, Int32(Wp), Int32(g.outH), Int32(g.outW), Int32(g.strideH), Int32(g.strideW),
                                Int32(g.kernelH), Int32(g.kernelW), Int32(g.dilationH), Int32(g.dilationW), w, dst)
    }

    /// Backward of a depthwise convolution over `images` consecutive images at `x`, with the
    /// output gradient `dy` laid out [O, ld] (image i at column i·patches).
    /// `dWt` (kh·kw × O, row stride O) receives the weight gradient, assigned for the first
    /// image when `first`, added otherwise; `dx` (the images' input gradients) is assigned.
    /// `scratch` and `dxScratch` hold `Im2Col.scratchCount(g)` floats each.
    static func depthwiseBackward(x: UnsafePointer<Float>, dy: UnsafePointer<Float>, ld: Int, images: Int, channels C: Int,
                                  multiplier m: Int, _ g: ConvGeometry, weights wp: UnsafePointer<Float>,
                                  dWt: UnsafeMutablePointer<Float>?, first: Bool, dx: UnsafeMutablePointer<Float>?,
                                  scratch: UnsafeMutablePointer<Float>, dxScratch: UnsafeMutablePointer<Float>) {
        let (H, W, OH, OW, P) = (g.height, g.width, g.outH, g.outW, g.patches)
        let (sh, sw, kh, kw, dh, dw) = (g.strideH, g.strideW, g.kernelH, g.kernelW, g.dilationH, g.dilationW)
        let K = kh * kw, O = C * m
        let (Hp, Wp) = (H + g.padH + g.padBottom, W + g.padW + g.padRight)
        // Stride 2: sixteen consecutive inputs hold eight taps (their even half) while they fit the row.
        let reach = (kw - 1) * dw
        let wide2 = sw == 2 ? max(0, min(OW, (Wp - 16 - reach) / 2 + 1)) / 8 * 8 : 0
        for i in 0..<images {
            for c in 0..<C {
                let plane = x + (i * C + c) * H * W
                if let dWt {
                    let (base, rowLength) = paddedPlane(plane, g, scratch: scratch)
                    for j in 0..<m {
                        let o = c * m + j
                        let grad = dy + o * ld + i * P
                        for ki in 0..<kh {
                            for kj in 0..<kw {
                                var s = SIMD8<Float>(repeating: 0)
                                var tail: Float = 0
                                for oy in 0..<OH {
                                    let r = base + (oy * sh + ki * dh) * rowLength + kj * dw
                                    let gr = grad + oy * OW
                                    var ox = 0
                                    if sw == 1 {
                                        while ox + 8 <= OW {
                                            s += UnsafeRawPointer(gr + ox).loadUnaligned(as: SIMD8<Float>.self)
                                                * UnsafeRawPointer(r + ox).loadUnaligned(as: SIMD8<Float>.self)
                                            ox += 8
                                        }
                                    } else if sw == 2 {
                                        while ox < wide2 {
                                            s += UnsafeRawPointer(gr + ox).loadUnaligned(as: SIMD8<Float>.self)
                                                * UnsafeRawPointer(r + 2 * ox).loadUnaligned(as: SIMD16<Float>.self).evenHalf
                                            ox += 8
                                        }
                                    }
                                    while ox < OW { tail += gr[ox] * r[ox * sw]; ox += 1 }
                                }
                                let v = s.sum() + tail
                                let at = dWt + (ki * kw + kj) * O + o
                                at.pointee = first && i == 0 ? v : at.pointee + v
                            }
                        }
                    }
                }
                if let dx {
                    dxScratch.update(repeating: 0, count: Hp * Wp)
                    for j in 0..<m {
                        let o = c * m + j
                        let grad = dy + o * ld + i * P
                        for ki in 0..<kh {
                            for kj in 0..<kw {
                                let wv = wp[o * K + ki * kw + kj]
                                let splat = SIMD8<Float>(repeating: wv)
                                for oy in 0..<OH {
                                    let r = dxScratch + (oy * sh + ki * dh) * Wp + kj * dw
                                    let gr = grad + oy * OW
                                    var ox = 0
                                    if sw == 1 {
                                        while ox + 8 <= OW {
                                            let rr = UnsafeMutableRawPointer(r + ox)
                                            let v = rr.loadUnaligned(as: SIMD8<Float>.self) + splat * UnsafeRawPointer(gr + ox).loadUnaligned(as: SIMD8<Float>.self)
                                            rr.storeBytes(of: v, as: SIMD8<Float>.self)
                                            ox += 8
                                        }
                                    } else if sw == 2 {
                                        // Eight products into the even lanes of sixteen consecutive positions.
                                        while ox < wide2 {
                                            let rr = UnsafeMutableRawPointer(r + 2 * ox)
                                            var add = SIMD16<Float>(repeating: 0)
                                            add.evenHalf = splat * UnsafeRawPointer(gr + ox).loadUnaligned(as: SIMD8<Float>.self)
                                            rr.storeBytes(of: rr.loadUnaligned(as: SIMD16<Float>.self) + add, as: SIMD16<Float>.self)
                                            ox += 8
                                        }
                                    }
                                    while ox < OW { r[ox * sw] += wv * gr[ox]; ox += 1 }
                                }
                            }
                        }
                    }
                    let out = dx + (i * C + c) * H * W
                    for iy in 0..<H { out.advanced(by: iy * W).update(from: dxScratch + (iy + g.padH) * Wp + g.padW, count: W) }
                }
            }
        }
    }
}
