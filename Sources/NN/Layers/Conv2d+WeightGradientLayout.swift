import Foundation
import TensorEngine

/// Which way round a convolution computes its weight gradient. Both give the same bits: each
/// element is one fused multiply-add chain over the same columns in the same order (fma's two
/// factors commute), and segments are added in the same order.
///
/// Why two: `dWᵀ [K, O] = cols · dYᵀ` packs only dY (cheap when a group has many columns and K
/// is large) but ends with a transposition of every segment's K·O partial sum, which writes one
/// float per cache line; `dW [O, K] = dY · colsᵀ` packs the columns instead and ends with a
/// plain in-order sum. For layers whose whole batch has few columns beside K·O (ResNet-18's
/// layer3 and layer4 at a 32×32 input: 64-256 columns, up to 4608×512 weights) the
/// transposition cost more than the product.
enum WeightGradientLayout: Equatable {
    /// dWᵀ [K, O] per segment, transposed at the end.
    case columnMajor
    /// dW [O, K] per segment, summed in place at the end.
    case outputMajor
}

extension Conv2d {
    /// Test hook: every convolution uses this layout (tests compare the two).
    static var forceWeightGradientLayout: WeightGradientLayout?

    /// The layout for a batch of `n`: dY-major when the whole batch has no more columns than
    /// the layer has filters. Then the product is thin (its inner dimension, the columns, is
    /// small) and the transposition of K·O partial sums per segment costs more than packing the
    /// columns; with more columns packing them costs more (measured: ResNet-18-32's training
    /// step 0.93x the time with layer3 and layer4 dY-major, ResNet-18-224's 1.04x with its
    /// layer4, 3136 columns beside 512 filters, dY-major, so that one stays column-major).
    func weightGradientLayout(_ g: ConvGeometry, batch n: Int) -> WeightGradientLayout {
        if let forced = Conv2d.forceWeightGradientLayout { return forced }
        return n * max(1, g.patches) <= outChannels ? .outputMajor : .columnMajor
    }
}
