// AdvLens' packed-panel GEMM (see include/advlens_gemm.h for the contract). Every element is a
// sequential fused multiply-add chain over k from zero, then `alpha*acc`, then `+ beta*c`, in
// that order, then the optional epilogue (bias and activation, epilogue.h), on every path: the AVX2 kernel (16 columns in two vectors, 6 rows), its edge
// tiles (padded rows, a scalar epilogue for a partial panel) and the portable kernel. Contraction
// is off so the compiler cannot fuse the epilogue's multiply and add on one path only.
#pragma STDC FP_CONTRACT OFF
#pragma clang fp contract(off)

#include "advlens_gemm.h"
#include <math.h>
#include <string.h>
#include "avx512_rows.h"
#include "epilogue.h"

#define NR ADVLENS_GEMM_PANEL
#define MR 6   /* rows of the AVX2 and portable tiles */

size_t advlens_gemm_packed_count(int k, int n) {
    size_t panels = ((size_t)n + NR - 1) / NR;
    return panels * NR * (size_t)k;
}

void advlens_gemm_pack(int trans, int k, int n, const float *b, int ldb, float *packed,
                       int panel_begin, int panel_end) {
    for (int q = panel_begin; q < panel_end; q++) {
        float *dst = packed + (size_t)q * NR * k;
        int j0 = q * NR, nv = n - j0 < NR ? n - j0 : NR;
        if (trans) {
            // op(B)[p][j] = B[j][p]: walk the panel's nv stored rows, each contiguous in p.
            if (nv < NR) memset(dst, 0, sizeof(float) * NR * (size_t)k);
            for (int j = 0; j < nv; j++) {
                const float *src = b + (size_t)(j0 + j) * ldb;
                for (int p = 0; p < k; p++) dst[(size_t)p * NR + j] = src[p];
            }
        } else {
            for (int p = 0; p < k; p++) {
                const float *src = b + (size_t)p * ldb + j0;
                float *row = dst + (size_t)p * NR;
                int j = 0;
                for (; j < nv; j++) row[j] = src[j];
                for (; j < NR; j++) row[j] = 0;
            }
        }
    }
}

/// How accumulators become C: alpha, then beta·C, then the epilogue (bias and activation) when
/// `e` is not NULL, whose bias is indexed by the row of C.
typedef struct {
    float alpha, beta;
    const advlens_epilogue *e;
} finish_t;

/// The finish of one element in row `row` of C, shared by every scalar path.
static inline float finish(float acc, const finish_t *f, int row, const float *c) {
    float x = acc;
    if (f->alpha != 1) x = x * f->alpha;
    if (f->beta != 0) {
        float y = *c;
        if (f->beta != 1) y = y * f->beta;
        x = x + y;
    }
    return f->e ? epilogue_scalar(x, f->e, row) : x;
}

/// Stores rows 0..<mr (rows row0 ..< row0+mr of C), columns 0..<nv of a tile's accumulators.
static void store_tile(const float acc[MR][NR], int mr, int nv, const finish_t *f, int row0, float *c, int ldc) {
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nv; j++) c[(size_t)i * ldc + j] = finish(acc[i][j], f, row0 + i, c + (size_t)i * ldc + j);
}

/// The portable tile: MR rows of A (row stride lda) times one packed panel.
static void tile_portable(int k, const float *a, int lda, const float *bp, size_t bs, int mr, int nv,
                          const finish_t *f, int row0, float *c, int ldc) {
    float acc[MR][NR];
    memset(acc, 0, sizeof acc);
    for (int p = 0; p < k; p++) {
        const float *brow = bp + (size_t)p * bs;
        for (int i = 0; i < MR; i++) {
            float av = a[(size_t)i * lda + p];
            for (int j = 0; j < NR; j++) acc[i][j] = fmaf(av, brow[j], acc[i][j]);
        }
    }
    store_tile((const float (*)[NR])acc, mr, nv, f, row0, c, ldc);
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma")))
static inline void store_row_avx2(__m256 x0, __m256 x1, const finish_t *f, int row, float *c) {
    float alpha = f->alpha, beta = f->beta;
    if (alpha != 1) {
        __m256 va = _mm256_set1_ps(alpha);
        x0 = _mm256_mul_ps(x0, va);
        x1 = _mm256_mul_ps(x1, va);
    }
    if (beta != 0) {
        __m256 y0 = _mm256_loadu_ps(c), y1 = _mm256_loadu_ps(c + 8);
        if (beta != 1) {
            __m256 vb = _mm256_set1_ps(beta);
            y0 = _mm256_mul_ps(y0, vb);
            y1 = _mm256_mul_ps(y1, vb);
        }
        x0 = _mm256_add_ps(x0, y0);
        x1 = _mm256_add_ps(x1, y1);
    }
    if (f->e) {
        x0 = epilogue_avx2(x0, f->e, row);
        x1 = epilogue_avx2(x1, f->e, row);
    }
    _mm256_storeu_ps(c, x0);
    _mm256_storeu_ps(c + 8, x1);
}

/// The AVX2 tile: twelve accumulators (6 rows × 2 vectors of 8 columns), one broadcast of A
/// per row and two loads of the panel per step of k.
__attribute__((target("avx2,fma")))
static void tile_avx2(int k, const float *a, int lda, const float *bp, size_t bs, int mr, int nv,
                      const finish_t *f, int row0, float *c, int ldc) {
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
    const float *a0 = a, *a1 = a + lda, *a2 = a + 2 * (size_t)lda;
    const float *a3 = a + 3 * (size_t)lda, *a4 = a + 4 * (size_t)lda, *a5 = a + 5 * (size_t)lda;
    for (int p = 0; p < k; p++) {
        __m256 b0 = _mm256_loadu_ps(bp), b1 = _mm256_loadu_ps(bp + 8);
        bp += bs;
        __m256 t;
        t = _mm256_broadcast_ss(a0 + p); c00 = _mm256_fmadd_ps(t, b0, c00); c01 = _mm256_fmadd_ps(t, b1, c01);
        t = _mm256_broadcast_ss(a1 + p); c10 = _mm256_fmadd_ps(t, b0, c10); c11 = _mm256_fmadd_ps(t, b1, c11);
        t = _mm256_broadcast_ss(a2 + p); c20 = _mm256_fmadd_ps(t, b0, c20); c21 = _mm256_fmadd_ps(t, b1, c21);
        t = _mm256_broadcast_ss(a3 + p); c30 = _mm256_fmadd_ps(t, b0, c30); c31 = _mm256_fmadd_ps(t, b1, c31);
        t = _mm256_broadcast_ss(a4 + p); c40 = _mm256_fmadd_ps(t, b0, c40); c41 = _mm256_fmadd_ps(t, b1, c41);
        t = _mm256_broadcast_ss(a5 + p); c50 = _mm256_fmadd_ps(t, b0, c50); c51 = _mm256_fmadd_ps(t, b1, c51);
    }
    if (nv == NR) {
        float *r = c;
        store_row_avx2(c00, c01, f, row0 + 0, r); if (mr == 1) return; r += ldc;
        store_row_avx2(c10, c11, f, row0 + 1, r); if (mr == 2) return; r += ldc;
        store_row_avx2(c20, c21, f, row0 + 2, r); if (mr == 3) return; r += ldc;
        store_row_avx2(c30, c31, f, row0 + 3, r); if (mr == 4) return; r += ldc;
        store_row_avx2(c40, c41, f, row0 + 4, r); if (mr == 5) return; r += ldc;
        store_row_avx2(c50, c51, f, row0 + 5, r);
        return;
    }
    float acc[MR][NR];
    _mm256_storeu_ps(acc[0], c00); _mm256_storeu_ps(acc[0] + 8, c01);
    _mm256_storeu_ps(acc[1], c10); _mm256_storeu_ps(acc[1] + 8, c11);
    _mm256_storeu_ps(acc[2], c20); _mm256_storeu_ps(acc[2] + 8, c21);
    _mm256_storeu_ps(acc[3], c30); _mm256_storeu_ps(acc[3] + 8, c31);
    _mm256_storeu_ps(acc[4], c40); _mm256_storeu_ps(acc[4] + 8, c41);
    _mm256_storeu_ps(acc[5], c50); _mm256_storeu_ps(acc[5] + 8, c51);
    store_tile((const float (*)[NR])acc, mr, nv, f, row0, c, ldc);
}

/// Rows 0..<mr (rows row0 ..< row0+mr of C), columns 0..<nv of a tile's accumulators (one
/// vector per row): alpha, then beta·C, then the epilogue, per lane, through a mask for a
/// partial panel.
__attribute__((target("avx512f")))
static inline void store_rows_avx512(const __m512 *rows, int mr, int nv, const finish_t *f, int row0, float *c, int ldc) {
    __mmask16 m = lane_mask(nv);
    float alpha = f->alpha, beta = f->beta;
    for (int i = 0; i < mr; i++) {
        __m512 x = rows[i];
        float *r = c + (size_t)i * ldc;
        if (alpha != 1) x = _mm512_mul_ps(x, _mm512_set1_ps(alpha));
        if (beta != 0) {
            __m512 y = _mm512_maskz_loadu_ps(m, r);
            if (beta != 1) y = _mm512_mul_ps(y, _mm512_set1_ps(beta));
            x = _mm512_add_ps(x, y);
        }
        if (f->e) x = epilogue_avx512(x, f->e, row0 + i);
        _mm512_mask_storeu_ps(r, m, x);
    }
}

/// The AVX-512 tile: twelve rows, one 16-column vector each, so a panel is one load per step
/// of k and twelve fused multiply-adds (Zen 5 and recent Intel cores run two per cycle at full
/// width: twice the AVX2 tile's arithmetic per instruction). Partial panels store through a
/// mask; the epilogue is the same multiply, then add, per lane.
__attribute__((target("avx512f")))
static void tile_avx512(int k, const float *a, int lda, const float *bp, size_t bs, int mr, int nv,
                        const finish_t *f, int row0, float *c, int ldc) {
    __m512 c0 = _mm512_setzero_ps(), c1 = _mm512_setzero_ps(), c2 = _mm512_setzero_ps(), c3 = _mm512_setzero_ps();
    __m512 c4 = _mm512_setzero_ps(), c5 = _mm512_setzero_ps(), c6 = _mm512_setzero_ps(), c7 = _mm512_setzero_ps();
    __m512 c8 = _mm512_setzero_ps(), c9 = _mm512_setzero_ps(), c10 = _mm512_setzero_ps(), c11 = _mm512_setzero_ps();
    const size_t s = (size_t)lda;
    const float *a0 = a, *a1 = a + s, *a2 = a + 2 * s, *a3 = a + 3 * s, *a4 = a + 4 * s, *a5 = a + 5 * s;
    const float *a6 = a + 6 * s, *a7 = a + 7 * s, *a8 = a + 8 * s, *a9 = a + 9 * s, *a10 = a + 10 * s, *a11 = a + 11 * s;
    for (int p = 0; p < k; p++) {
        __m512 b = _mm512_loadu_ps(bp);
        bp += bs;
        c0 = _mm512_fmadd_ps(_mm512_set1_ps(a0[p]), b, c0);
        c1 = _mm512_fmadd_ps(_mm512_set1_ps(a1[p]), b, c1);
        c2 = _mm512_fmadd_ps(_mm512_set1_ps(a2[p]), b, c2);
        c3 = _mm512_fmadd_ps(_mm512_set1_ps(a3[p]), b, c3);
        c4 = _mm512_fmadd_ps(_mm512_set1_ps(a4[p]), b, c4);
        c5 = _mm512_fmadd_ps(_mm512_set1_ps(a5[p]), b, c5);
        c6 = _mm512_fmadd_ps(_mm512_set1_ps(a6[p]), b, c6);
        c7 = _mm512_fmadd_ps(_mm512_set1_ps(a7[p]), b, c7);
        c8 = _mm512_fmadd_ps(_mm512_set1_ps(a8[p]), b, c8);
        c9 = _mm512_fmadd_ps(_mm512_set1_ps(a9[p]), b, c9);
        c10 = _mm512_fmadd_ps(_mm512_set1_ps(a10[p]), b, c10);
        c11 = _mm512_fmadd_ps(_mm512_set1_ps(a11[p]), b, c11);
    }
    __m512 rows[12] = {c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11};
    store_rows_avx512(rows, mr, nv, f, row0, c, ldc);
}

/// Two panels side by side (32 columns) against the same twelve rows: each broadcast of A
/// feeds two fused multiply-adds, so a step of k is 24 of them for two panel loads and twelve
/// broadcasts, where two calls of tile_avx512 issue 26 loads. 24 accumulators, two panel
/// vectors and a broadcast fill 27 of the 32 registers. On a 64×576 by 576×3136 product it ran
/// at 260-269 GFLOP/s on one Zen 5 core, against 231-242 for tile_avx512 (two processes at
/// once, each as fast as alone). `bq` is the next panel; only it may be partial (`nv`).
__attribute__((target("avx512f")))
static void tile2_avx512(int k, const float *a, int lda, const float *bp, const float *bq, size_t bs, int mr, int nv,
                         const finish_t *f, int row0, float *c, int ldc) {
    __m512 z = _mm512_setzero_ps();
    __m512 c0 = z, c1 = z, c2 = z, c3 = z, c4 = z, c5 = z, c6 = z, c7 = z, c8 = z, c9 = z, c10 = z, c11 = z;
    __m512 d0 = z, d1 = z, d2 = z, d3 = z, d4 = z, d5 = z, d6 = z, d7 = z, d8 = z, d9 = z, d10 = z, d11 = z;
    const size_t s = (size_t)lda;
    const float *a0 = a, *a1 = a + s, *a2 = a + 2 * s, *a3 = a + 3 * s, *a4 = a + 4 * s, *a5 = a + 5 * s;
    const float *a6 = a + 6 * s, *a7 = a + 7 * s, *a8 = a + 8 * s, *a9 = a + 9 * s, *a10 = a + 10 * s, *a11 = a + 11 * s;
    for (int p = 0; p < k; p++) {
        __m512 b = _mm512_loadu_ps(bp), e = _mm512_loadu_ps(bq);
        bp += bs;
        bq += bs;
        __m512 t;
#define TWO_PANEL_ROW(i) t = _mm512_set1_ps(a##i[p]); c##i = _mm512_fmadd_ps(t, b, c##i); d##i = _mm512_fmadd_ps(t, e, d##i);
        TWO_PANEL_ROW(0) TWO_PANEL_ROW(1) TWO_PANEL_ROW(2) TWO_PANEL_ROW(3) TWO_PANEL_ROW(4) TWO_PANEL_ROW(5)
        TWO_PANEL_ROW(6) TWO_PANEL_ROW(7) TWO_PANEL_ROW(8) TWO_PANEL_ROW(9) TWO_PANEL_ROW(10) TWO_PANEL_ROW(11)
#undef TWO_PANEL_ROW
    }
    __m512 left[12] = {c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11};
    __m512 right[12] = {d0, d1, d2, d3, d4, d5, d6, d7, d8, d9, d10, d11};
    store_rows_avx512(left, mr, NR, f, row0, c, ldc);
    store_rows_avx512(right, mr, nv, f, row0, c + NR, ldc);
}
#endif


#if defined(__x86_64__)
/// Products with at most FEW_ROWS rows of A (a batch of one; a convolution's product taken the
/// other way round when it has few columns): the 12-row tile would compute 12 rows to keep
/// one. These tiles take M rows (1-4) against NP panels (4 or 1) at once, each element the
/// same chain as in tile_avx512 (zero, fma over p in order, then alpha and beta).
#define FEW_ROWS 4
#define FEW_ROWS_TILE(M, NP) \
__attribute__((target("avx512f"))) \
static void few_rows_##M##_##NP(int k, const float *a, int lda, const float *bp, size_t bs, size_t ps, int n_last, \
                                const finish_t *f, int row0, float *c, int ldc) { \
    __m512 acc[M][NP]; \
    for (int i = 0; i < M; i++) for (int t = 0; t < NP; t++) acc[i][t] = _mm512_setzero_ps(); \
    for (int p = 0; p < k; p++) { \
        __m512 b[NP]; \
        for (int t = 0; t < NP; t++) b[t] = _mm512_loadu_ps(bp + (size_t)t * ps + (size_t)p * bs); \
        for (int i = 0; i < M; i++) { \
            __m512 ai = _mm512_set1_ps(a[(size_t)i * lda + p]); \
            for (int t = 0; t < NP; t++) acc[i][t] = _mm512_fmadd_ps(ai, b[t], acc[i][t]); \
        } \
    } \
    for (int t = 0; t < NP; t++) { \
        __m512 rows[M]; \
        for (int i = 0; i < M; i++) rows[i] = acc[i][t]; \
        store_rows_avx512(rows, M, t == NP - 1 ? n_last : NR, f, row0, c + (size_t)t * NR, ldc); \
    } \
}
FEW_ROWS_TILE(1, 4) FEW_ROWS_TILE(2, 4) FEW_ROWS_TILE(3, 4) FEW_ROWS_TILE(4, 4)
FEW_ROWS_TILE(1, 1) FEW_ROWS_TILE(2, 1) FEW_ROWS_TILE(3, 1) FEW_ROWS_TILE(4, 1)

typedef void (*few_rows_fn)(int, const float *, int, const float *, size_t, size_t, int, const finish_t *, int, float *, int);

/// Rows 0..<m (m <= FEW_ROWS; rows row0 ..< row0+m of C) of A against panels panel_begin ..<
/// panel_end, four panels at a time; panel q starts at b + q·ps, its rows bs apart.
static void few_rows_avx512(int m, int n, int k, const finish_t *f, int row0, const float *a, int lda, const float *b,
                            size_t bs, size_t ps, float *c, int ldc, int panel_begin, int panel_end) {
    static const few_rows_fn four[FEW_ROWS] = {few_rows_1_4, few_rows_2_4, few_rows_3_4, few_rows_4_4};
    static const few_rows_fn one[FEW_ROWS] = {few_rows_1_1, few_rows_2_1, few_rows_3_1, few_rows_4_1};
    int q = panel_begin;
    for (; q + 4 <= panel_end; q += 4) {
        int last = q + 3, nv = n - last * NR < NR ? n - last * NR : NR;
        four[m - 1](k, a, lda, b + (size_t)q * ps, bs, ps, nv, f, row0, c + (size_t)q * NR, ldc);
    }
    for (; q < panel_end; q++) {
        int nv = n - q * NR < NR ? n - q * NR : NR;
        one[m - 1](k, a, lda, b + (size_t)q * ps, bs, ps, nv, f, row0, c + (size_t)q * NR, ldc);
    }
}
#endif

static int forced_kernel = -1;

/// The best kernel this CPU runs: 2 AVX-512, 1 AVX2 with FMA, 0 portable.
static int best_kernel(void) {
#if defined(__x86_64__)
    static int best = -1;
    if (best < 0) {
        __builtin_cpu_init();
        best = __builtin_cpu_supports("avx512f") ? 2
             : (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) ? 1 : 0;
    }
    return best;
#else
    return 0;
#endif
}

int advlens_gemm_kernel(void) {
    int best = best_kernel();
    return forced_kernel >= 0 && forced_kernel <= best ? forced_kernel : best;
}

int advlens_gemm_best_kernel(void) { return best_kernel(); }

void advlens_gemm_force_kernel(int kernel) { forced_kernel = kernel; }

typedef void (*tile_fn)(int, const float *, int, const float *, size_t, int, int, const finish_t *, int, float *, int);

/// `advlens_gemm_run` over panels of B that start at b + q·ps with rows bs apart: the packed
/// panels (bs 16, ps 16·k) or whole panels of a row-major B read in place (bs its row stride,
/// ps 16). Only packed panels may be partial (their zeros are read).
static void run_panels(int m, int n, int k, const finish_t *f, const float *a, int lda, const float *b, size_t bs, size_t ps,
                       float *c, int ldc, int panel_begin, int panel_end, float *scratch) {
    tile_fn tile = tile_portable;
    int rows = 6;   // rows of one tile of the kernel in use
#if defined(__x86_64__)
    switch (advlens_gemm_kernel()) {
    case 2: tile = tile_avx512; rows = 12; break;
    case 1: tile = tile_avx2; break;
    default: break;
    }
#endif
    int full = m / rows * rows, rest = m - full;
#if defined(__x86_64__)
    if (rows == 12 && rest > 0 && rest <= FEW_ROWS) {
        // The last rows on their own few-row tiles: no zero rows computed, no scratch.
        few_rows_avx512(rest, n, k, f, full, a + (size_t)full * lda, lda, b, bs, ps, c + (size_t)full * ldc, ldc,
                        panel_begin, panel_end);
        m = full;
        rest = 0;
    }
#endif
    if (rest > 0) {
        // The last tile's rows, padded with zero rows: the kernel always reads a whole tile.
        memset(scratch, 0, sizeof(float) * (size_t)rows * (size_t)k);
        for (int i = 0; i < rest; i++) memcpy(scratch + (size_t)i * k, a + (size_t)(full + i) * lda, sizeof(float) * (size_t)k);
    }
    // Row blocks of about 512 KB of A stay in the core's L2 cache while the panels stream past.
    int block = (int)((512 * 1024 / sizeof(float)) / (k > 0 ? (size_t)k : 1)) / rows * rows;
    if (block < rows) block = rows;
    for (int i0 = 0; i0 < m; i0 += block) {
        int i1 = i0 + block < m ? i0 + block : m;
        for (int q = panel_begin; q < panel_end;) {
            const float *bp = b + (size_t)q * ps;
#if defined(__x86_64__)
            if (tile == tile_avx512 && q + 1 < panel_end) {
                // Two panels at a time (the second may be partial).
                int j0 = q * NR, nv = n - j0 - NR < NR ? n - j0 - NR : NR;
                const float *bq = bp + ps;
                for (int i = i0; i < i1; i += rows) {
                    if (i < full) tile2_avx512(k, a + (size_t)i * lda, lda, bp, bq, bs, rows, nv, f, i, c + (size_t)i * ldc + j0, ldc);
                    else tile2_avx512(k, scratch, k, bp, bq, bs, rest, nv, f, i, c + (size_t)i * ldc + j0, ldc);
                }
                q += 2;
                continue;
            }
#endif
            int j0 = q * NR, nv = n - j0 < NR ? n - j0 : NR;
            for (int i = i0; i < i1; i += rows) {
                if (i < full) tile(k, a + (size_t)i * lda, lda, bp, bs, rows, nv, f, i, c + (size_t)i * ldc + j0, ldc);
                else tile(k, scratch, k, bp, bs, rest, nv, f, i, c + (size_t)i * ldc + j0, ldc);
            }
            q += 1;
        }
    }
}

void advlens_gemm_run(int m, int n, int k, float alpha, const float *a, int lda, const float *packed,
                      float beta, float *c, int ldc, int panel_begin, int panel_end, float *scratch,
                      const advlens_epilogue *epilogue) {
    finish_t f = {alpha, beta, epilogue};
    run_panels(m, n, k, &f, a, lda, packed, NR, (size_t)NR * k, c, ldc, panel_begin, panel_end, scratch);
}

void advlens_gemm_run_rows(int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb,
                           float beta, float *c, int ldc, int panel_begin, int panel_end, float *scratch, float *panel,
                           const advlens_epilogue *epilogue) {
    finish_t f = {alpha, beta, epilogue};
    int whole = n / NR, end = panel_end < whole ? panel_end : whole;
    if (panel_begin < end)
        run_panels(m, n, k, &f, a, lda, b, (size_t)ldb, NR, c, ldc, panel_begin, end, scratch);
    if (panel_end > whole && whole >= panel_begin) {
        // The partial last panel, packed (its zeros past n) and multiplied as a packed one.
        int j0 = whole * NR;
        advlens_gemm_pack(0, k, n - j0, b + j0, ldb, panel, 0, 1);
        run_panels(m, n - j0, k, &f, a, lda, panel, NR, (size_t)NR * k, c + j0, ldc, 0, 1, scratch);
    }
}
