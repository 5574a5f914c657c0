// Max pooling of one plane that holds no NaN (a ReLU's output: ResNet's 3×3 / stride 2 stem
// pooling, VGG's 2×2 ones), in C for AVX-512: Swift's SIMD types compile to the baseline SSE.
#ifndef ADVLENS_MAXPOOL_H
#define ADVLENS_MAXPOOL_H

/// For each output (oy, ox) of an h×w plane pooled by a kh×kw window (stride sh, sw; padding
/// top ph, left pw; dilation dh, dw) into oh×ow: the first maximum, in the window's row-major
/// scan of its taps inside the plane, of the values greater than -inf so far (a later equal
/// value does not win), and its flat index iy·w + ix in `argmax` (when not NULL); a window
/// whose values are all -inf gives -inf at its first tap inside the plane (clamped into the
/// plane if it has none). `src` must hold no NaN. AVX-512 when advlens_gemm_kernel() is 2,
/// else portable: the same results.
void advlens_maxpool_plane(const float *src, int h, int w, int oh, int ow, int kh, int kw, int sh, int sw,
                           int ph, int pw, int dh, int dw, float *dst, int *argmax);

#endif
