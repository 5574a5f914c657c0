// im2col into packed panels (see include/advlens_conv_pack.h). A panel's 16 columns have
// source offsets base[l]; row k adds koff(k) = c·plane_stride + ki·dh·row_stride + kj·dw to
// every one, so a panel is K copies of the same 16-lane pattern from shifted addresses. Where
// the 16 columns are consecutive in one output row with stride 1 (most panels of a wide
// plane) each row is one 64-byte copy, with stride 2 two copies and a shuffle; otherwise the lanes form runs of consecutive offsets
// (one masked load each with AVX-512), or are gathered.
#include "advlens_conv_pack.h"
#include "advlens_gemm.h"
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define NR ADVLENS_GEMM_PANEL

/// The source offsets of panel q's columns; returns how many columns exist (nv < 16 only in
/// the last panel).
static int panel_offsets(const advlens_conv_source *s, int q, int base[NR]) {
    long P = (long)s->oh * s->ow, n = P * s->images;
    long j = (long)q * NR;
    int nv = 0;
    long b = j / P, p = j % P, oy = p / s->ow, ox = p % s->ow;
    for (; nv < NR && j < n; nv++, j++) {
        base[nv] = (int)(b * s->image_stride + oy * s->sh * s->row_stride + ox * s->sw);
        if (++ox == s->ow) {
            ox = 0;
            if (++oy == s->oh) { oy = 0; b++; }
        }
    }
    for (int l = nv; l < NR; l++) base[l] = 0;
    return nv;
}

/// Whether all 16 columns exist and are consecutive in the source.
static int is_contiguous(const int base[NR], int nv) {
    if (nv < NR) return 0;
    for (int l = 1; l < NR; l++) if (base[l] != base[0] + l) return 0;
    return 1;
}

static void pack_portable(const float *src, const advlens_conv_source *s, int K, float *packed, int q0, int q1) {
    for (int q = q0; q < q1; q++) {
        int base[NR];
        int nv = panel_offsets(s, q, base);
        int contiguous = is_contiguous(base, nv);
        float *dst = packed + (size_t)q * NR * K;
        for (int c = 0; c < s->channels; c++)
            for (int ki = 0; ki < s->kh; ki++)
                for (int kj = 0; kj < s->kw; kj++) {
                    const float *p = src + c * s->plane_stride + (long)ki * s->dh * s->row_stride + (long)kj * s->dw;
                    if (contiguous) {
                        memcpy(dst, p + base[0], sizeof(float) * NR);
                    } else {
                        int l = 0;
                        for (; l < nv; l++) dst[l] = p[base[l]];
                        for (; l < NR; l++) dst[l] = 0;
                    }
                    dst += NR;
                }
    }
}

#if defined(__x86_64__)
/// Runs of lanes with consecutive offsets, at most this many per panel before gathering wins.
#define MAX_RUNS 4

__attribute__((target("avx512f")))
static void pack_avx512(const float *src, const advlens_conv_source *s, int K, float *packed, int q0, int q1) {
    for (int q = q0; q < q1; q++) {
        int base[NR];
        int nv = panel_offsets(s, q, base);
        float *dst = packed + (size_t)q * NR * K;
        // Runs: lanes a..<e with base[l] = base[a] + (l - a); a masked load at base[a] - a
        // fills exactly those lanes.
        int runs = 0, start[NR];
        __mmask16 masks[NR];
        for (int l = 0; l < nv; l++) {
            if (l == 0 || base[l] != base[l - 1] + 1) { start[runs] = base[l] - l; masks[runs] = 0; runs++; }
            masks[runs - 1] |= (__mmask16)(1u << l);
        }
        __mmask16 valid = nv == NR ? (__mmask16)0xFFFF : (__mmask16)((1u << nv) - 1);
        __m512i idx = _mm512_loadu_si512((const void *)base);
        // Stride 2 within one output row: the even lanes of 32 consecutive floats.
        int evens = nv == NR;
        for (int l = 1; evens && l < NR; l++) evens = base[l] == base[0] + 2 * l;
        const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        for (int c = 0; c < s->channels; c++)
            for (int ki = 0; ki < s->kh; ki++) {
                const float *row = src + c * s->plane_stride + (long)ki * s->dh * s->row_stride;
                for (int kj = 0; kj < s->kw; kj++) {
                    const float *p = row + (long)kj * s->dw;
                    __m512 v;
                    if (runs == 1 && nv == NR) {
                        v = _mm512_loadu_ps(p + start[0]);
                    } else if (evens) {
                        const float *e = p + base[0];
                        // The second load stops at e[30], the last float the even lanes take
                        // (e[31] may lie past the source's end).
                        v = _mm512_permutex2var_ps(_mm512_loadu_ps(e), even, _mm512_maskz_loadu_ps((__mmask16)0x7FFF, e + NR));
                    } else if (runs <= MAX_RUNS) {
                        v = _mm512_setzero_ps();
                        // (p + start[r] may point before the row; only the masked lanes are read.)
                        for (int r = 0; r < runs; r++) v = _mm512_mask_loadu_ps(v, masks[r], p + start[r]);
                    } else {
                        v = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), valid, idx, p, 4);
                    }
                    _mm512_storeu_ps(dst, v);
                    dst += NR;
                }
            }
    }
}
#endif

void advlens_conv_pack(const float *src, const advlens_conv_source *s, float *packed, int panel_begin, int panel_end) {
    int K = s->channels * s->kh * s->kw;
#if defined(__x86_64__)
    if (advlens_gemm_kernel() == 2) { pack_avx512(src, s, K, packed, panel_begin, panel_end); return; }
#endif
    pack_portable(src, s, K, packed, panel_begin, panel_end);
}
