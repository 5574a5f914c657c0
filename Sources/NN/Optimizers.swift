import Foundation
import TensorEngine

/// Updates parameters from their gradients. Implementations follow PyTorch's torch.optim
/// formulas exactly, so a recipe tuned there behaves the same here. State (momentum buffers,
/// moments) is kept per parameter index and exposed for checkpoints.
public protocol Optimizer: AnyObject {
    var learningRate: Float { get set }
    /// Steps taken.
    var stepCount: Int { get }
    /// Applies one update to the trainable `parameters` (parameters without a gradient are
    /// left alone).
    func step(_ parameters: [Parameter], _ gradients: ParameterGradients)
    /// Named state tensors, for saving ("<param>.momentum_buffer", "<param>.exp_avg", ...).
    func stateTensors(_ parameters: [Parameter]) -> [String: Tensor]
    /// Restores state saved by `stateTensors`.
    func restore(_ state: [String: Tensor], stepCount: Int, _ parameters: [Parameter])
}

/// Stochastic gradient descent with momentum, dampening, Nesterov and weight decay
/// (L2 added to the gradient), as torch.optim.SGD.
public final class SGD: Optimizer {
    public var learningRate: Float
    public let momentum: Float, dampening: Float, weightDecay: Float, nesterov: Bool
    public private(set) var stepCount = 0
    private var buffers: [Int: Tensor] = [:]

    public init(learningRate: Float, momentum: Float = 0, dampening: Float = 0, weightDecay: Float = 0, nesterov: Bool = false) {
        self.learningRate = learningRate
        self.momentum = momentum
        self.dampening = dampening
        self.weightDecay = weightDecay
        self.nesterov = nesterov
    }

    public func step(_ parameters: [Parameter], _ gradients: ParameterGradients) {
        stepCount += 1
        for p in parameters {
            guard var g = gradients[p] else { continue }
            if weightDecay != 0 { g.axpy(weightDecay, p.value) }
            if momentum != 0 {
                if var buf = buffers[p.index] {
                    buf.scale(momentum)
                    buf.axpy(1 - dampening, g)
                    buffers[p.index] = buf
                } else {
                    buffers[p.index] = g
                }
                if nesterov { g.axpy(momentum, buffers[p.index]!) } else { g = buffers[p.index]! }
            }
            p.value.axpy(-learningRate, g)
        }
    }

    public func stateTensors(_ parameters: [Parameter]) -> [String: Tensor] {
        Dictionary(uniqueKeysWithValues: parameters.compactMap { p in buffers[p.index].map { (p.name + ".momentum_buffer", $0) } })
    }

    public func restore(_ state: [String: Tensor], stepCount: Int, _ parameters: [Parameter]) {
        self.stepCount = stepCount
        buffers = [:]
        for p in parameters { if let b = state[p.name + ".momentum_buffer"] { buffers[p.index] = b } }
    }
}

/// Adam (Kingma & Ba) with bias correction, as torch.optim.Adam; with `decoupled` the weight
/// decay is AdamW's (p ← p·(1 - lr·wd) before the step) rather than L2 in the gradient.
public final class Adam: Optimizer {
    public var learningRate: Float
    public let beta1: Float, beta2: Float, eps: Float, weightDecay: Float, decoupled: Bool
    public private(set) var stepCount = 0
    private var m: [Int: Tensor] = [:], v: [Int: Tensor] = [:]

    public init(learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8,
                weightDecay: Float = 0, decoupled: Bool = false) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weightDecay = weightDecay
        self.decoupled = decoupled
    }

    /// AdamW with PyTorch's default weight decay.
    public static func adamW(learningRate: Float = 1e-3, weightDecay: Float = 0.01) -> Adam {
        Adam(learningRate: learningRate, weightDecay: weightDecay, decoupled: true)
    }

    public func step(_ parameters: [Parameter], _ gradients: ParameterGradients) {
        stepCount += 1
        let t = Float(stepCount)
        let bc1 = 1 - powf(beta1, t), bc2 = 1 - powf(beta2, t)
        let stepSize = learningRate / bc1, bc2Root = bc2.squareRoot()
        for p in parameters {
            guard let g0 = gradients[p] else { continue }
            var g = g0
            if weightDecay != 0 {
                if decoupled { p.value.scale(1 - learningRate * weightDecay) } else { g.axpy(weightDecay, p.value) }
            }
            var mt = m[p.index] ?? Tensor(shape: g.shape), vt = v[p.index] ?? Tensor(shape: g.shape)
            let (b1, b2, e) = (beta1, beta2, eps)
            mt.data.withUnsafeMutableBufferPointer { mp in
                vt.data.withUnsafeMutableBufferPointer { vp in
                    g.data.withUnsafeBufferPointer { gp in
                        p.value.data.withUnsafeMutableBufferPointer { w in
                            for i in 0..<w.count {
                                let gi = gp[i]
                                mp[i] = b1 * mp[i] + (1 - b1) * gi
                                vp[i] = b2 * vp[i] + (1 - b2) * gi * gi
                                w[i] -= stepSize * mp[i] / (vp[i].squareRoot() / bc2Root + e)
                            }
                        }
                    }
                }
            }
            m[p.index] = mt
            v[p.index] = vt
        }
    }

    public func stateTensors(_ parameters: [Parameter]) -> [String: Tensor] {
        var s: [String: Tensor] = [:]
        for p in parameters {
            if let a = m[p.index] { s[p.name + ".exp_avg"] = a }
            if let b = v[p.index] { s[p.name + ".exp_avg_sq"] = b }
        }
        return s
    }

    public func restore(_ state: [String: Tensor], stepCount: Int, _ parameters: [Parameter]) {
        self.stepCount = stepCount
        m = [:]; v = [:]
        for p in parameters {
            if let a = state[p.name + ".exp_avg"] { m[p.index] = a }
            if let b = state[p.name + ".exp_avg_sq"] { v[p.index] = b }
        }
    }
}
