import CGEMM

/// Matrix transposition in cache-sized tiles, optionally summing equal-shaped segments on the way.
///
/// Why: a plain transpose writes one float per cache line (the destination's stride is a whole
/// row), so for a convolution's weight gradient (`dWᵀ` [K, O] back to [O, K], e.g. 4608×512)
/// it cost more than a sixth of a ResNet-18-32 training step. In 32×32 tiles each source and
/// destination line is used whole while it is in cache. The segment sums are added in segment
/// order, so the result has the bits of the untiled loop.
public enum MatrixTranspose {
    /// Tile side: 32 floats, two cache lines of each row.
    static let tile = 32

    /// `dst[c · rows + r] = src[r · cols + c] + Σ_{s = 1 ..< segments} src[s · segmentStride + r · cols + c]`,
    /// the sum taken in segment order: `segments` [rows, cols] matrices summed and transposed into
    /// `dst` [cols, rows]. Tiles of rows run in parallel when the matrix is large.
    public static func sumTransposed(_ src: UnsafePointer<Float>, rows: Int, cols: Int, segments: Int = 1, segmentStride: Int = 0,
                                     into dst: UnsafeMutablePointer<Float>) {
        precondition(segments >= 1, "MatrixTranspose: at least one segment")
        if segments == 1 {
            // A plain transposition: 8×8 register blocks (advlens_transpose_rows), bands of 64
            // rows in parallel. Training remakes Wᵀ after every step, 11 M floats for a ResNet-18.
            let bands = (rows + 63) / 64
            Parallel.forRanges(bands, grain: max(1, 65_536 / max(64 * cols, 1))) { range in
                advlens_transpose_rows(src, Int32(cols), Int32(range.lowerBound * 64), Int32(min(rows, range.upperBound * 64)),
                                       Int32(cols), dst, Int32(rows))
            }
            return
        }
        let rowTiles = (rows + tile - 1) / tile
        // A tile row is worth a thread from about 64 K floats of work.
        Parallel.forRanges(rowTiles, grain: max(1, 65_536 / max(tile * cols * segments, 1))) { range in
            for rt in range {
                let r0 = rt * tile, r1 = min(rows, r0 + tile)
                var c0 = 0
                while c0 < cols {
                    let c1 = min(cols, c0 + tile)
                    for r in r0..<r1 {
                        let row = src + r * cols
                        for c in c0..<c1 {
                            var v = row[c]
                            var s = 1
                            while s < segments { v += row[s * segmentStride + c]; s += 1 }
                            dst[c * rows + r] = v
                        }
                    }
                    c0 = c1
                }
            }
        }
    }
}
