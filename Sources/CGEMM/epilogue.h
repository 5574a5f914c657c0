// advlens_epilogue (include/advlens_epilogue.h) applied to one value, one AVX2 vector or one
// AVX-512 vector (private to CGEMM), for the GEMM's scalar, AVX2 and AVX-512 stores: every
// form gives the same bits (compares and blends, the add unfused).
#ifndef ADVLENS_EPILOGUE_APPLY_H
#define ADVLENS_EPILOGUE_APPLY_H
#include "advlens_epilogue.h"
#if defined(__x86_64__)
#include <immintrin.h>
#endif

static inline float epilogue_scalar(float x, const advlens_epilogue *e, int row) {
    x = x + (e->bias ? e->bias[row] : 0.0f);
    switch (e->activation) {
    case ADVLENS_ACT_RELU: return x > 0 ? x : 0.0f;
    case ADVLENS_ACT_CLAMP: {
        float y = e->low >= x ? e->low : x;
        return e->high < y ? e->high : y;
    }
    default: return x;
    }
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma")))
static inline __m256 epilogue_avx2(__m256 x, const advlens_epilogue *e, int row) {
    x = _mm256_add_ps(x, _mm256_set1_ps(e->bias ? e->bias[row] : 0.0f));
    switch (e->activation) {
    case ADVLENS_ACT_RELU:
        return _mm256_and_ps(x, _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GT_OQ));
    case ADVLENS_ACT_CLAMP: {
        __m256 lo = _mm256_set1_ps(e->low), hi = _mm256_set1_ps(e->high);
        __m256 y = _mm256_blendv_ps(x, lo, _mm256_cmp_ps(lo, x, _CMP_GE_OQ));
        return _mm256_blendv_ps(y, hi, _mm256_cmp_ps(hi, y, _CMP_LT_OQ));
    }
    default: return x;
    }
}

__attribute__((target("avx512f")))
static inline __m512 epilogue_avx512(__m512 x, const advlens_epilogue *e, int row) {
    x = _mm512_add_ps(x, _mm512_set1_ps(e->bias ? e->bias[row] : 0.0f));
    switch (e->activation) {
    case ADVLENS_ACT_RELU:
        return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GT_OQ), x);
    case ADVLENS_ACT_CLAMP: {
        __m512 lo = _mm512_set1_ps(e->low), hi = _mm512_set1_ps(e->high);
        __m512 y = _mm512_mask_mov_ps(x, _mm512_cmp_ps_mask(lo, x, _CMP_GE_OQ), lo);
        return _mm512_mask_mov_ps(y, _mm512_cmp_ps_mask(hi, y, _CMP_LT_OQ), hi);
    }
    default: return x;
    }
}
#endif
#endif
