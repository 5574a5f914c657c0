import CGEMM

/// What a kernel does to each value before it stores it: add a bias, then an activation (a
/// convolution's bias and its following ReLU or clamp, `advlens_epilogue`).
///
/// Why in the kernel: a product stored and then read again by a bias-and-activation pass went
/// through memory twice, the second time on one core at batch 1. The kernels apply the same
/// operations in the same order, so the bits are those of that pass: x + bias (x + 0 without
/// one, which makes -0 into +0), then `x > 0 ? x : 0` or Swift's `min(max(x, low), high)`.
public struct Epilogue {
    public enum Activation: Equatable {
        case none, relu
        case clamp(low: Float, high: Float)
    }

    /// One value per row of the product (per output channel); nil adds +0.
    public var bias: UnsafePointer<Float>?
    public var activation: Activation

    public init(bias: UnsafePointer<Float>?, activation: Activation) {
        self.bias = bias
        self.activation = activation
    }

    /// The C form of `epilogue` (NULL for nil), for `body`'s duration.
    public static func withC<R>(_ epilogue: Epilogue?, _ body: (UnsafePointer<advlens_epilogue>?) -> R) -> R {
        guard let epilogue else { return body(nil) }
        var e = advlens_epilogue(bias: epilogue.bias, activation: Int32(ADVLENS_ACT_NONE), low: 0, high: 0)
        switch epilogue.activation {
        case .none: break
        case .relu: e.activation = Int32(ADVLENS_ACT_RELU)
        case .clamp(let low, let high):
            e.activation = Int32(ADVLENS_ACT_CLAMP)
            (e.low, e.high) = (low, high)
        }
        return withUnsafePointer(to: &e) { body($0) }
    }

    /// One value finished in Swift with the kernels' operations (the tests' reference; the
    /// convolution's separate pass spells the same expressions).
    @inline(__always)
    public static func apply(_ v: Float, bias: Float, _ activation: Activation) -> Float {
        let x = v + bias
        switch activation {
        case .none: return x
        case .relu: return x > 0 ? x : 0
        case .clamp(let low, let high): return min(max(x, low), high)
        }
    }
}
