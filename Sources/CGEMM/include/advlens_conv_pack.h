// im2col straight into advlens_gemm's packed panels: a convolution's column matrix is never
// written whole and then packed, each panel is filled from the images directly.
//
// Why: the forward product of a convolution used to unfold its images into the column matrix
// [K, n] (K = C·kh·kw rows, n = images·patches columns), then copy it into 16-column panels
// (advlens_gemm_pack). Both passes moved every value through memory once more than needed.
// The panels written here hold the same values bit for bit (copies only), zeros past n.
#ifndef ADVLENS_CONV_PACK_H
#define ADVLENS_CONV_PACK_H

/// Where column j, row k of a column matrix comes from. Column j = b·oh·ow + oy·ow + ox (image
/// b, output position (oy, ox)), row k = (c·kh + ki)·kw + kj; its value is
///   src[b·image_stride + c·plane_stride + (oy·sh + ki·dh)·row_stride + ox·sw + kj·dw]
/// so `src` must already hold the padding (a padded copy of the images, or the images
/// themselves when the geometry has none): every index this forms is read without a check.
typedef struct {
    long image_stride, plane_stride, row_stride;
    int images, channels, kh, kw, sh, sw, dh, dw, oh, ow;
} advlens_conv_source;

/// Writes panels panel_begin ..< panel_end of the packed column matrix (K = channels·kh·kw rows,
/// n = images·oh·ow columns) into `packed`, laid out as advlens_gemm_pack lays out a k×n matrix
/// (panel q at packed + q·16·K, for each row k the 16 values of columns 16q ..< 16q+16, zeros
/// past n). Uses AVX-512 when advlens_gemm_kernel() is 2; every path writes the same bits.
void advlens_conv_pack(const float *src, const advlens_conv_source *s, float *packed,
                       int panel_begin, int panel_end);

#endif
