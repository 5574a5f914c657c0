// See include/advlens_depthwise.h. Sixteen outputs of a row per vector: stride 1 loads them
// directly, stride 2 loads 32 inputs and keeps the even ones; a row's last outputs use masked
// loads and stores, which touch no memory outside their lanes. Other strides, and CPUs without
// AVX-512, take the portable loop. Contraction is off so that no compiler fuses a multiply and
// its add on one path only.
#pragma STDC FP_CONTRACT OFF
#pragma clang fp contract(off)

#include "advlens_depthwise.h"
#include "advlens_gemm.h"
#include "avx512_rows.h"

static void plane_portable(const float *src, int ld, int oh, int ow, int sh, int sw, int kh, int kw, int dh, int dw,
                           const float *w, float *dst) {
    for (int oy = 0; oy < oh; oy++) {
        const float *row = src + (size_t)oy * sh * ld;
        for (int ox = 0; ox < ow; ox++) {
            float acc = 0;
            for (int ki = 0; ki < kh; ki++) {
                const float *r = row + (size_t)ki * dh * ld + (size_t)ox * sw;
                for (int kj = 0; kj < kw; kj++) acc = acc + w[ki * kw + kj] * r[kj * dw];
            }
            dst[(size_t)oy * ow + ox] = acc;
        }
    }
}

#if defined(__x86_64__)
__attribute__((target("avx512f")))
static void plane_avx512(const float *src, int ld, int oh, int ow, int sh, int sw, int kh, int kw, int dh, int dw,
                         const float *w, float *dst) {
    for (int oy = 0; oy < oh; oy++) {
        const float *row = src + (size_t)oy * sh * ld;
        float *out = dst + (size_t)oy * ow;
        for (int ox = 0; ox < ow; ox += 16) {
            int lanes = ow - ox < 16 ? ow - ox : 16;
            __m512 acc = _mm512_setzero_ps();
            for (int ki = 0; ki < kh; ki++) {
                const float *r = row + (size_t)ki * dh * ld + (size_t)ox * sw;
                for (int kj = 0; kj < kw; kj++) {
                    __m512 x = load_row16(r + kj * dw, sw, lanes);
                    acc = _mm512_add_ps(acc, _mm512_mul_ps(_mm512_set1_ps(w[ki * kw + kj]), x));
                }
            }
            _mm512_mask_storeu_ps(out + ox, lane_mask(lanes), acc);
        }
    }
}
#endif

void advlens_depthwise_plane(const float *src, int ld, int oh, int ow, int sh, int sw, int kh, int kw, int dh, int dw,
                             const float *w, float *dst) {
#if defined(__x86_64__)
    if ((sw == 1 || sw == 2) && advlens_gemm_kernel() == 2) {
        plane_avx512(src, ld, oh, ow, sh, sw, kh, kw, dh, dw, w, dst);
        return;
    }
#endif
    plane_portable(src, ld, oh, ow, sh, sw, kh, kw, dh, dw, w, dst);
}
