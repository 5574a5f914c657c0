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

    /// The new weights and momentum buffers are written out of place, in one pass, both cores:
    /// a training step holds the old ones to roll back to, so an update in place first copied
    /// every weight and buffer (copy on write), and three single-threaded passes (weight decay,
    /// momentum, the update) read them again. Per element the operations are the in-place
    /// passes', in the same order: g + wd·w; b·μ + (1 - dampening)·g (or g on the first step);
    /// g + μ·b with Nesterov; w + (-lr)·that.
    public func step(_ parameters: [Parameter], _ gradients: ParameterGradients) {
        stepCount += 1
        for p in parameters {
            guard let g = gradients[p], g.count > 0 else { continue }
            let n = g.count, previous = momentum != 0 ? buffers[p.index] : nil
            var weights = uninitialized(n), buffer = momentum != 0 ? uninitialized(n) : []
            weights.withUnsafeMutableBufferPointer { w in
                buffer.withUnsafeMutableBufferPointer { b in
                    g.data.withUnsafeBufferPointer { gb in
                        p.value.data.withUnsafeBufferPointer { wb in
                            (previous?.data ?? []).withUnsafeBufferPointer { pb in
                                update(n, g: gb.baseAddress!, w: wb.baseAddress!, previous: previous == nil ? nil : pb.baseAddress!,
                                       newWeights: w.baseAddress!, newBuffer: momentum != 0 ? b.baseAddress! : nil)
                            }
                        }
                    }
                }
            }
            if momentum != 0 { buffers[p.index] = Tensor(shape: g.shape, data: buffer) }
            p.value = Tensor(shape: p.value.shape, data: weights)
        }
    }

    /// One parameter's update of `n` elements, in parallel ranges; `newBuffer` nil without momentum.
    private func update(_ n: Int, g: UnsafePointer<Float>, w: UnsafePointer<Float>, previous: UnsafePointer<Float>?,
                        newWeights: UnsafeMutablePointer<Float>, newBuffer: UnsafeMutablePointer<Float>?) {
        let (lr, mu, damped, wd, nesterov) = (learningRate, momentum, 1 - dampening, weightDecay, nesterov)
        Parallel.forRanges(n, grain: 1 << 16) { r in
            for i in r {
                var d = g[i]
                if wd != 0 { d += wd * w[i] }
                if let newBuffer {
                    var m = d
                    if let previous {
                        m = previous[i]
                        m *= mu
                        m += damped * d
                    }
                    newBuffer[i] = m
                    if nesterov { d += mu * m } else { d = m }
                }
                newWeights[i] = w[i] + -lr * d
            }
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
        let (b1, b2, e) = (beta1, beta2, eps)
        let (c1, c2) = (1 - b1, 1 - b2)
        let l2 = decoupled ? 0 : weightDecay
        for p in parameters {
            guard let g = gradients[p] else { continue }
            if weightDecay != 0 && decoupled { p.value.scale(1 - learningRate * weightDecay) }
            // Moments are updated in place: taken out of the dictionaries so they are uniquely
            // referenced (no copy on write), put back after.
            var mt = m.removeValue(forKey: p.index) ?? Tensor(shape: g.shape)
            var vt = v.removeValue(forKey: p.index) ?? Tensor(shape: g.shape)
            let n = g.count
            mt.data.withUnsafeMutableBufferPointer { mb in
                vt.data.withUnsafeMutableBufferPointer { vb in
                    g.data.withUnsafeBufferPointer { gb in
                        p.value.data.withUnsafeMutableBufferPointer { wb in
                            let mp = mb.baseAddress!, vp = vb.baseAddress!, gp = gb.baseAddress!, w = wb.baseAddress!
                            Parallel.forRanges(n, grain: 1 << 16) { r in
                                Adam.update(r, mp, vp, gp, w, b1: b1, b2: b2, c1: c1, c2: c2, l2: l2,
                                            stepSize: stepSize, bc2Root: bc2Root, eps: e)
                            }
                        }
                    }
                }
            }
            m[p.index] = mt
            v[p.index] = vt
        }
    }

    /// The update of elements `r`, eight at a time (the same operations in the same order
    /// per element as the scalar form, so the same results).
    @inline(__always)
    private static func update(_ r: Range<Int>, _ mp: UnsafeMutablePointer<Float>, _ vp: UnsafeMutablePointer<Float>,
                               _ gp: UnsafePointer<Float>, _ w: UnsafeMutablePointer<Float>,
                               b1: Float, b2: Float, c1: Float, c2: Float, l2: Float,
                               stepSize: Float, bc2Root: Float, eps: Float) {
        typealias V = SIMD8<Float>
        @inline(__always) func load(_ p: UnsafePointer<Float>, _ i: Int) -> V {
            UnsafeRawPointer(p + i).loadUnaligned(as: V.self)
        }
        @inline(__always) func store(_ x: V, _ p: UnsafeMutablePointer<Float>, _ i: Int) {
            UnsafeMutableRawPointer(p + i).storeBytes(of: x, as: V.self)
        }
        var i = r.lowerBound
        let (vb1, vb2, vc1, vc2, vl2) = (V(repeating: b1), V(repeating: b2), V(repeating: c1), V(repeating: c2), V(repeating: l2))
        let (vstep, vroot, veps) = (V(repeating: stepSize), V(repeating: bc2Root), V(repeating: eps))
        while i + 8 <= r.upperBound {
            var wi = load(w, i)
            var gi = load(gp, i)
            if l2 != 0 { gi = gi + vl2 * wi }
            let mi = vb1 * load(mp, i) + vc1 * gi
            let vi = vb2 * load(vp, i) + vc2 * gi * gi
            store(mi, mp, i)
            store(vi, vp, i)
            wi = wi - vstep * mi / (vi.squareRoot() / vroot + veps)
            store(wi, w, i)
            i += 8
        }
        while i < r.upperBound {
            let gi = l2 != 0 ? gp[i] + l2 * w[i] : gp[i]
            let mi = b1 * mp[i] + c1 * gi, vi = b2 * vp[i] + c2 * gi * gi
            mp[i] = mi; vp[i] = vi
            w[i] -= stepSize * mi / (vi.squareRoot() / bc2Root + eps)
            i += 1
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
