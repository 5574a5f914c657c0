@testable import TensorEngine

/// A tap class's columns as a plain matrix, the reference `TapClasses.unfoldPacked` and the
/// class products are checked against. Why here: the daemon writes class columns straight into
/// the GEMM's panels and never needs this matrix, so it lives with the tests that compare to it.
extension TapClasses {
    /// Unfolds `images` images (C×H×W, the first at `x`, `inPer` floats apart) into class `m`'s
    /// columns: rows (c, ki, kj) over the live taps in the dense order, row stride `ldcol`;
    /// columns image by image, each image's positions row-major.
    func unfold(_ m: Int, _ x: UnsafePointer<Float>, images: Int, inPer: Int, into col: UnsafeMutablePointer<Float>,
                ldcol: Int) {
        let g = geometry, k = classes[m], (H, W) = (g.height, g.width)
        withOffsets(m, images: images, imageStride: inPer, rowStride: g.strideH * W, columnStride: g.strideW,
                    origin: -g.padH * W - g.padW) { off, n in
            var row = col
            for c in 0..<g.channels {
                for ki in k.kernelRows {
                    for kj in k.kernelColumns {
                        let base = x + c * H * W + ki * g.dilationH * W + kj * g.dilationW
                        for q in 0..<n { row[q] = base[off[q]] }
                        row += ldcol
                    }
                }
            }
        }
    }

}
