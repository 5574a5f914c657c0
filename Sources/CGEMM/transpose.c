#include "advlens_transpose.h"
#include "advlens_gemm.h"

#if defined(__x86_64__)
#include <immintrin.h>

/// One 8×8 block: eight rows of src in, eight rows of dst out (unpack, shuffle, lane swap).
__attribute__((target("avx2")))
static void block8(const float *s, int ls, float *d, int ld) {
    __m256 r0 = _mm256_loadu_ps(s), r1 = _mm256_loadu_ps(s + ls), r2 = _mm256_loadu_ps(s + 2 * (long)ls), r3 = _mm256_loadu_ps(s + 3 * (long)ls);
    __m256 r4 = _mm256_loadu_ps(s + 4 * (long)ls), r5 = _mm256_loadu_ps(s + 5 * (long)ls), r6 = _mm256_loadu_ps(s + 6 * (long)ls), r7 = _mm256_loadu_ps(s + 7 * (long)ls);
    __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1), t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
    __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5), t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE), u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE), u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    _mm256_storeu_ps(d, _mm256_permute2f128_ps(u0, u4, 0x20));
    _mm256_storeu_ps(d + ld, _mm256_permute2f128_ps(u1, u5, 0x20));
    _mm256_storeu_ps(d + 2 * (long)ld, _mm256_permute2f128_ps(u2, u6, 0x20));
    _mm256_storeu_ps(d + 3 * (long)ld, _mm256_permute2f128_ps(u3, u7, 0x20));
    _mm256_storeu_ps(d + 4 * (long)ld, _mm256_permute2f128_ps(u0, u4, 0x31));
    _mm256_storeu_ps(d + 5 * (long)ld, _mm256_permute2f128_ps(u1, u5, 0x31));
    _mm256_storeu_ps(d + 6 * (long)ld, _mm256_permute2f128_ps(u2, u6, 0x31));
    _mm256_storeu_ps(d + 7 * (long)ld, _mm256_permute2f128_ps(u3, u7, 0x31));
}
#endif

void advlens_transpose_rows(const float *src, int ld_src, int r0, int r1, int cols, float *dst, int ld_dst) {
    int r = r0;
#if defined(__x86_64__)
    if (advlens_gemm_kernel() >= 1) {
        for (; r + 8 <= r1; r += 8) {
            int c = 0;
            for (; c + 8 <= cols; c += 8) block8(src + (long)r * ld_src + c, ld_src, dst + (long)c * ld_dst + r, ld_dst);
            for (; c < cols; c++)
                for (int i = 0; i < 8; i++) dst[(long)c * ld_dst + r + i] = src[(long)(r + i) * ld_src + c];
        }
    }
#endif
    for (; r < r1; r++)
        for (int c = 0; c < cols; c++) dst[(long)c * ld_dst + r] = src[(long)r * ld_src + c];
}
