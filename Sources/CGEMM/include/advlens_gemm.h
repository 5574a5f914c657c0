// AdvLens' own single-precision GEMM for products whose rows are independent samples.
//
// Why not OpenBLAS for these: OpenBLAS rounds a row by its position in a product and by the
// product's shape (see BLAS.rowTile in TensorEngine), so exactness across batches forced
// 8-row calls that re-packed the whole weight every 8 rows. Here every element of C is one
// sequential fused multiply-add chain over k, starting from zero, then alpha and beta:
//   acc = 0; for p in 0..<k: acc = fma(a[i][p], b[p][j], acc); c[i][j] = alpha*acc + beta*c[i][j]
// whatever m, n, the row's position, the panel range or the instruction set (the AVX-512,
// AVX2 and portable kernels give the same bits), so a weight is packed once for any number of rows.
// A convolution's bias and activation may follow in the same store (advlens_epilogue.h).
#ifndef ADVLENS_GEMM_H
#define ADVLENS_GEMM_H

#include <stddef.h>
#include "advlens_epilogue.h"

/// Columns of op(B) per packed panel, and the most rows of A any kernel's tile reads (12 for
/// AVX-512, 6 for AVX2 and the portable kernel).
#define ADVLENS_GEMM_PANEL 16
#define ADVLENS_GEMM_ROWS 12

/// Floats a packed op(B) of k rows and n columns takes: whole panels of 16 columns.
size_t advlens_gemm_packed_count(int k, int n);

/// Packs op(B) (k×n) into panels: panel q holds, for p in 0..<k, the 16 values
/// op(B)[p][16q ..< 16q+16] (zeros past n). trans = 0: B is stored k×n with row stride ldb;
/// trans = 1: B is stored n×k (row stride ldb) and op(B) = Bᵀ (a linear layer's weight).
/// Packs panels panel_begin ..< panel_end only, so callers can split the work.
void advlens_gemm_pack(int trans, int k, int n, const float *b, int ldb, float *packed,
                       int panel_begin, int panel_end);

/// C[i][j] for i in 0..<m and j in the columns of panels panel_begin ..< panel_end:
/// alpha·(A·op(B)) + beta·C, A m×k row-major with row stride lda, op(B) packed. beta = 0
/// means C is not read. scratch: ADVLENS_GEMM_ROWS·k floats, or NULL when m is a multiple of
/// ADVLENS_GEMM_ROWS (it holds the last, partial tile's rows padded with zeros). `epilogue`,
/// when not NULL, finishes each value after beta (its bias indexed by i; advlens_epilogue.h).
void advlens_gemm_run(int m, int n, int k, float alpha, const float *a, int lda, const float *packed,
                      float beta, float *c, int ldc, int panel_begin, int panel_end, float *scratch,
                      const advlens_epilogue *epilogue);

/// `advlens_gemm_run` with op(B) = B stored k×n row-major (row stride ldb), not packed: whole
/// panels are read in place (a pointwise convolution's input planes, which packing copied
/// once more), and a partial last panel is packed into `panel` (16·k floats) first. The same
/// chain per element, so the same bits as packing B whole.
void advlens_gemm_run_rows(int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb,
                           float beta, float *c, int ldc, int panel_begin, int panel_end, float *scratch, float *panel,
                           const advlens_epilogue *epilogue);

/// The kernel in use: 2 AVX-512, 1 AVX2 with FMA, 0 the portable one (same results).
int advlens_gemm_kernel(void);

/// The best kernel this CPU can run.
int advlens_gemm_best_kernel(void);

/// Uses kernel `kernel` (0, 1, 2; one the CPU lacks is ignored), or the CPU's best for -1.
/// For tests, which hold every kernel to the same bits.
void advlens_gemm_force_kernel(int kernel);

#endif
