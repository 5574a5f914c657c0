// A depthwise convolution's output plane from one zero-padded input plane (MobileNet's and
// EfficientNet's 3×3 and 5×5 layers). In C for AVX-512: Swift's SIMD types compile to the
// baseline SSE here, four lanes, which held the Swift kernel to 9·10⁹ multiply-adds a second.
#ifndef ADVLENS_DEPTHWISE_H
#define ADVLENS_DEPTHWISE_H

/// dst[oy·ow + ox] = Σ over ki in 0..<kh, kj in 0..<kw, in that order, of
/// w[ki·kw + kj] · src[(oy·sh + ki·dh)·ld + ox·sw + kj·dw], each product rounded and added to
/// an accumulator that starts at +0 (a multiply, then an add: no fused multiply-add), for every
/// kernel (AVX-512 when advlens_gemm_kernel() is 2, else portable): the same bits. `src` is the
/// padded plane, rows `ld` floats apart; no index outside the windows is read.
void advlens_depthwise_plane(const float *src, int ld, int oh, int ow, int sh, int sw, int kh, int kw, int dh, int dw,
                             const float *w, float *dst);

#endif
