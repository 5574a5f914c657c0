// See include/advlens_maxpool.h. Output columns whose windows lie wholly inside the plane's
// width run 16 at a time (stride 1 loads them directly, stride 2 loads 32 values and keeps the
// even ones, a row's last ones through masks); the border columns, and other strides or CPUs,
// take the scalar loop. Both compare "greater than the best so far" in the same tap order.
#include "advlens_maxpool.h"
#include "advlens_gemm.h"
#include "avx512_rows.h"
#include <math.h>

/// The taps [k0, k1) of a window starting at r0 (stride already applied) whose rows lie in
/// 0..<size, and the first of them clamped into the plane.
static void span(int r0, int kernel, int dilation, int size, int *k0, int *k1, int *first) {
    int lo = r0 >= 0 ? 0 : (-r0 + dilation - 1) / dilation;
    int hi = r0 >= size ? 0 : (size - 1 - r0) / dilation + 1;
    if (hi > kernel) hi = kernel;
    if (hi < lo) hi = lo;
    int f = r0 + lo * dilation;
    *k0 = lo;
    *k1 = hi;
    *first = f < 0 ? 0 : f > size - 1 ? size - 1 : f;
}

static void window_scalar(const float *src, int w, int oy_r0, int rk0, int rk1, int first_row, int ox, int kw, int sw,
                          int pw, int dh, int dw, float *dst, int *argmax) {
    int c0 = ox * sw - pw, j0, j1, first_col;
    span(c0, kw, dw, w, &j0, &j1, &first_col);
    float best = -INFINITY;
    int at = first_row * w + first_col;
    for (int ki = rk0; ki < rk1; ki++) {
        int row = (oy_r0 + ki * dh) * w + c0;
        for (int kj = j0; kj < j1; kj++) {
            float v = src[row + kj * dw];
            if (v > best) { best = v; at = row + kj * dw; }
        }
    }
    *dst = best;
    if (argmax) *argmax = at;
}

#if defined(__x86_64__)
/// Outputs ox0 ..< ox1 of one row, every window wholly inside the width (stride 1 or 2).
__attribute__((target("avx512f")))
static void row_avx512(const float *src, int w, int r0, int rk0, int rk1, int first_row, int ox0, int ox1, int kw,
                       int sw, int pw, int dh, int dw, float *dst, int *argmax) {
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    for (int ox = ox0; ox < ox1; ox += 16) {
        int lanes = ox1 - ox < 16 ? ox1 - ox : 16;
        __mmask16 m = lane_mask(lanes);
        int c0 = ox * sw - pw;
        __m512 best = _mm512_set1_ps(-INFINITY);
        // The first tap inside the plane: row first_row, column c0 + lane·sw (j0 = 0 here).
        __m512i at = _mm512_add_epi32(_mm512_set1_epi32(first_row * w + c0), _mm512_mullo_epi32(lane, _mm512_set1_epi32(sw)));
        for (int ki = rk0; ki < rk1; ki++) {
            int row = (r0 + ki * dh) * w + c0;
            for (int kj = 0; kj < kw; kj++) {
                __m512 x = load_row16(src + row + kj * dw, sw, lanes);
                __mmask16 wins = _mm512_mask_cmp_ps_mask(m, x, best, _CMP_GT_OQ);
                best = _mm512_mask_blend_ps(wins, best, x);
                __m512i idx = _mm512_add_epi32(_mm512_set1_epi32(row + kj * dw), _mm512_mullo_epi32(lane, _mm512_set1_epi32(sw)));
                at = _mm512_mask_blend_epi32(wins, at, idx);
            }
        }
        _mm512_mask_storeu_ps(dst + ox, m, best);
        if (argmax) _mm512_mask_storeu_epi32(argmax + ox, m, at);
    }
}
#endif

void advlens_maxpool_plane(const float *src, int h, int w, int oh, int ow, int kh, int kw, int sh, int sw,
                           int ph, int pw, int dh, int dw, float *dst, int *argmax) {
    // Output columns whose windows lie wholly inside the width: c0 >= 0 and c0 + (kw-1)·dw <= w-1.
    int in0 = (pw + sw - 1) / sw, in1 = 0;
    if (w - 1 + pw - (kw - 1) * dw >= 0) in1 = (w - 1 + pw - (kw - 1) * dw) / sw + 1;
    if (in1 > ow) in1 = ow;
    int vector = 0;
#if defined(__x86_64__)
    vector = (sw == 1 || sw == 2) && advlens_gemm_kernel() == 2 && in0 < in1;
#endif
    for (int oy = 0; oy < oh; oy++) {
        int r0 = oy * sh - ph, k0, k1, first_row;
        span(r0, kh, dh, h, &k0, &k1, &first_row);
        float *out = dst + (size_t)oy * ow;
        int *am = argmax ? argmax + (size_t)oy * ow : NULL;
        int ox = 0;
        if (vector) {
            for (; ox < in0; ox++) window_scalar(src, w, r0, k0, k1, first_row, ox, kw, sw, pw, dh, dw, out + ox, am ? am + ox : NULL);
#if defined(__x86_64__)
            row_avx512(src, w, r0, k0, k1, first_row, in0, in1, kw, sw, pw, dh, dw, out, am);
#endif
            ox = in1;
        }
        for (; ox < ow; ox++) window_scalar(src, w, r0, k0, k1, first_row, ox, kw, sw, pw, dh, dw, out + ox, am ? am + ox : NULL);
    }
}
