// Matrix transposition in 8×8 register blocks: a convolution's input gradient multiplies by Wᵀ,
// which training remakes after every step (11 M floats for a ResNet-18), and a scalar tiled
// loop spent 7% of a ResNet-18-32 step there.
#ifndef ADVLENS_TRANSPOSE_H
#define ADVLENS_TRANSPOSE_H

/// dst[c·ld_dst + r] = src[r·ld_src + c] for r in r0..<r1 and c in 0..<cols. Uses AVX when
/// advlens_gemm_kernel() is at least 1; every path writes the same values (a copy).
void advlens_transpose_rows(const float *src, int ld_src, int r0, int r1, int cols, float *dst, int ld_dst);

#endif
