import CGEMM

/// im2col straight into `PackedMatrix`'s panels (`Sources/CGEMM/conv_pack.c`): the column
/// matrix of a convolution's forward product is never written whole, so neither the unfold
/// nor the pack pass moves it through memory. The panels hold exactly what
/// `PackedMatrix.pack(transposed: false, ...)` of `unfold`'s columns holds, zeros past the
/// last column included (values are only copied), so every product keeps its bits.
extension Im2Col {
    /// Floats of scratch `unfoldPacked` needs for `images` images: their padded copies, or
    /// none when the geometry has no padding (the images are read in place).
    public static func packedScratchCount(_ g: ConvGeometry, images: Int) -> Int {
        hasPadding(g) ? images * scratchCount(g) : 0
    }

    static func hasPadding(_ g: ConvGeometry) -> Bool { g.padH > 0 || g.padW > 0 || g.padBottom > 0 || g.padRight > 0 }

    /// Writes the packed column matrix (`columnRows` × images·patches, as
    /// `PackedMatrix.packedCount(k:n:)` lays it out) of `images` consecutive images (the first
    /// at `x`, `inPer` floats apart; the geometry's channels are the first of each) into
    /// `packed`. `scratch`: `packedScratchCount(g, images:)` floats. Outside a parallel region
    /// (one image's product) the padding copy and the panels are split between the free cores,
    /// which changes no value.
    public static func unfoldPacked(_ x: UnsafePointer<Float>, images: Int, inPer: Int, _ g: ConvGeometry,
                                    into packed: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        let (C, H, W) = (g.channels, g.height, g.width)
        var src = x, strides = (image: inPer, plane: H * W, row: W)
        if hasPadding(g) {
            let (Hp, Wp) = (H + g.padH + g.padBottom, W + g.padW + g.padRight)
            // Planes of the images with their zero border, side by side.
            Parallel.forRanges(images * C, grain: max(1, (1 << 14) / (Hp * Wp))) { r in
                for plane in r {
                    let (b, c) = plane.quotientAndRemainder(dividingBy: C)
                    padPlane(x + b * inPer + c * H * W, g, into: scratch + plane * Hp * Wp)
                }
            }
            src = UnsafePointer(scratch)
            strides = (C * Hp * Wp, Hp * Wp, Wp)
        }
        packPanels(src, imageStride: strides.image, planeStride: strides.plane, rowStride: strides.row, images: images,
                   channels: C, kernel: (g.kernelH, g.kernelW), stride: (g.strideH, g.strideW),
                   dilation: (g.dilationH, g.dilationW), out: (g.outH, g.outW), into: packed)
    }

    /// The packed column matrix (`channels`·kh·kw rows, images·outH·outW columns) whose row
    /// (c, ki, kj), column (b, oy, ox) is src[b·imageStride + c·planeStride + (oy·sh + ki·dh)·
    /// rowStride + ox·sw + kj·dw], every index inside `src` (`advlens_conv_pack`): a padded
    /// copy's columns, an unpadded image's, or a tap class's. Outside a parallel region the
    /// panels are split between the free cores, about a megabyte of panels per piece.
    static func packPanels(_ src: UnsafePointer<Float>, imageStride: Int, planeStride: Int, rowStride: Int, images: Int,
                           channels: Int, kernel: (Int, Int), stride: (Int, Int), dilation: (Int, Int), out: (Int, Int),
                           into packed: UnsafeMutablePointer<Float>) {
        // A column's offset within `src` is a 32-bit lane (the gather's index).
        precondition(images * imageStride <= Int(Int32.max), "Im2Col.packPanels: images too large for 32-bit offsets")
        var s = advlens_conv_source(image_stride: imageStride, plane_stride: planeStride, row_stride: rowStride,
                                    images: Int32(images), channels: Int32(channels), kh: Int32(kernel.0), kw: Int32(kernel.1),
                                    sh: Int32(stride.0), sw: Int32(stride.1), dh: Int32(dilation.0), dw: Int32(dilation.1),
                                    oh: Int32(out.0), ow: Int32(out.1))
        let K = channels * kernel.0 * kernel.1
        let panels = (images * out.0 * out.1 + Int(ADVLENS_GEMM_PANEL) - 1) / Int(ADVLENS_GEMM_PANEL)
        Parallel.forRanges(panels, grain: max(1, (1 << 14) / max(1, K))) { r in
            advlens_conv_pack(src, &s, packed, Int32(r.lowerBound), Int32(r.upperBound))
        }
    }
}
