// What a kernel does to each value before it stores it: a convolution's bias and activation.
//
// Why: a convolution's product is stored, then read again by a Swift pass that adds the bias
// and applies the ReLU or the clamp (ReLU6) on its way into the output tensor: at batch 1 one
// more trip through memory for every output, on one core after a product split between both.
// A GEMM given an epilogue writes the finished value once, from the same registers, with the
// same bits as that pass (the same operations in the same order, no fused multiply-add).
#ifndef ADVLENS_EPILOGUE_H
#define ADVLENS_EPILOGUE_H
/// The activation after the bias.
enum {
    /// x.
    ADVLENS_ACT_NONE = 0,
    /// x > 0 ? x : 0 (NaN and -0 give +0).
    ADVLENS_ACT_RELU = 1,
    /// y = low >= x ? low : x, then high < y ? high : y: Swift's min(max(x, low), high), NaN
    /// passing through.
    ADVLENS_ACT_CLAMP = 2
};
/// x = x + bias[r] for the value's row r (a GEMM's row of C: an output channel), or x + 0 when
/// `bias` is NULL (so -0 becomes +0, as adding a zero bias does), then the activation.
typedef struct {
    const float *bias;
    int activation;
    float low, high;
} advlens_epilogue;
#endif
