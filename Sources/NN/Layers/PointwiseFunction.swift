import Foundation

/// The element-wise activations beside ReLU that torchvision networks and exported ONNX
/// graphs use, each with PyTorch's definition and its derivative (including PyTorch's choice
/// at the kinks). Why one enum: a pointwise activation is a scalar function and its derivative,
/// nothing more; `Pointwise` maps one over a tensor, forward and backward.
public enum PointwiseFunction: Sendable, Equatable {
    /// x for x > 0, slope·x otherwise (`negative_slope`, default 0.01).
    case leakyReLU(slope: Float)
    /// 1 / (1 + e^-x).
    case sigmoid
    case tanh
    /// min(max(x, low), high); ReLU6 is (0, 6). The gradient is 0 at and beyond the bounds.
    case hardtanh(low: Float, high: Float)
    /// ONNX Clip / torch.clamp: min(max(x, low), high), either bound possibly infinite. Unlike
    /// hardtanh the gradient passes at the bounds (torch.clamp's choice).
    case clip(low: Float, high: Float)
    /// relu6(x + 3) / 6.
    case hardsigmoid
    /// x · relu6(x + 3) / 6.
    case hardswish
    /// x · sigmoid(x) (also called swish).
    case silu
    /// x · Φ(x) (exact, with erf) or its tanh approximation.
    case gelu(tanhApproximation: Bool)
    /// The error function (torch.erf, ONNX Erf): what an ONNX graph holds when its Erf is not
    /// part of a GELU.
    case erf

    /// The spec's type name.
    public var kind: String {
        switch self {
        case .leakyReLU: return "leaky_relu"
        case .sigmoid: return "sigmoid"
        case .tanh: return "tanh"
        case .hardtanh(let low, let high): return low == 0 && high == 6 ? "relu6" : "hardtanh"
        case .clip: return "clip"
        case .hardsigmoid: return "hardsigmoid"
        case .hardswish: return "hardswish"
        case .silu: return "silu"
        case .gelu: return "gelu"
        case .erf: return "erf"
        }
    }

    /// The spec type names of these functions.
    public static let kinds = ["leaky_relu", "sigmoid", "tanh", "hardtanh", "relu6", "clip", "hardsigmoid", "hardswish", "silu", "gelu", "erf"]

    /// f(x), in Double so the derivative's finite-difference checks and the float32 results
    /// agree to rounding.
    @inline(__always)
    func value(_ x: Float) -> Float {
        let d = Double(x)
        switch self {
        case .leakyReLU(let slope): return x > 0 ? x : slope * x
        case .sigmoid: return Float(Self.sigmoid(d))
        case .tanh: return Float(Foundation.tanh(d))
        case .hardtanh(let low, let high), .clip(let low, let high): return min(max(x, low), high)
        case .hardsigmoid: return min(max(x + 3, 0), 6) / 6
        case .hardswish: return x * min(max(x + 3, 0), 6) / 6
        case .silu: return Float(d * Self.sigmoid(d))
        case .gelu(let approximate):
            if approximate { return Float(0.5 * d * (1 + Foundation.tanh(Self.geluC * (d + 0.044715 * d * d * d)))) }
            return Float(0.5 * d * (1 + Foundation.erf(d / 2.0.squareRoot())))
        case .erf: return Float(Foundation.erf(d))
        }
    }

    /// f'(x).
    @inline(__always)
    func derivative(_ x: Float) -> Float {
        let d = Double(x)
        switch self {
        case .leakyReLU(let slope): return x > 0 ? 1 : slope
        case .sigmoid:
            let s = Self.sigmoid(d)
            return Float(s * (1 - s))
        case .tanh:
            let t = Foundation.tanh(d)
            return Float(1 - t * t)
        case .hardtanh(let low, let high): return x > low && x < high ? 1 : 0
        case .clip(let low, let high): return x >= low && x <= high ? 1 : 0
        case .hardsigmoid: return x > -3 && x < 3 ? 1.0 / 6 : 0
        case .hardswish: return x < -3 ? 0 : x > 3 ? 1 : Float((2 * d + 3) / 6)
        case .silu:
            let s = Self.sigmoid(d)
            return Float(s * (1 + d * (1 - s)))
        case .gelu(let approximate):
            if approximate {
                let inner = Self.geluC * (d + 0.044715 * d * d * d)
                let t = Foundation.tanh(inner)
                let dInner = Self.geluC * (1 + 3 * 0.044715 * d * d)
                return Float(0.5 * (1 + t) + 0.5 * d * (1 - t * t) * dInner)
            }
            let cdf = 0.5 * (1 + Foundation.erf(d / 2.0.squareRoot()))
            let pdf = exp(-0.5 * d * d) / (2 * Double.pi).squareRoot()
            return Float(cdf + d * pdf)
        case .erf: return Float(2 / Double.pi.squareRoot() * exp(-d * d))
        }
    }

    static let geluC = (2 / Double.pi).squareRoot()

    @inline(__always)
    static func sigmoid(_ x: Double) -> Double {
        // Split by sign so neither branch overflows exp.
        x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x))
    }
}

extension PointwiseFunction {
    /// (low, high) of a clamp (hardtanh, clip), whose value is min(max(x, low), high) exactly
    /// as `Pointwise.compute` takes it, so a convolution can apply it in its own output loop.
    var clampBounds: (low: Float, high: Float)? {
        switch self {
        case let .hardtanh(low, high), let .clip(low, high): return (low, high)
        default: return nil
        }
    }
}
