// Row pieces shared by the AVX-512 kernels (private to CGEMM): the mask of a row's first lanes,
// and a row's next 16 values at stride 1 or 2, which depthwise.c and maxpool.c both read.
#ifndef ADVLENS_AVX512_ROWS_H
#define ADVLENS_AVX512_ROWS_H
#if defined(__x86_64__)
#include <immintrin.h>

/// Lanes 0..<lanes set (lanes in 0...16).
static inline __mmask16 lane_mask(int lanes) {
    return lanes >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << lanes) - 1);
}

/// p[0], p[stride], ..., p[(lanes-1)·stride] in lanes 0..<lanes (stride 1 or 2), zeros after;
/// masked loads touch nothing past the last of them. Stride 2 reads 2·lanes - 1 consecutive
/// values and keeps the even ones.
__attribute__((target("avx512f")))
static inline __m512 load_row16(const float *p, int stride, int lanes) {
    if (stride == 1) return _mm512_maskz_loadu_ps(lane_mask(lanes), p);
    const __m512i evens = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    int need = 2 * lanes - 1;
    __m512 lo = _mm512_maskz_loadu_ps(lane_mask(need), p);
    __m512 hi = _mm512_maskz_loadu_ps(lane_mask(need > 16 ? need - 16 : 0), p + 16);
    return _mm512_maskz_permutex2var_ps(lane_mask(lanes), lo, evens, hi);
}

#endif
#endif
