import Foundation
import TensorEngine

/// Batch normalisation over (N, H, W) per channel, as PyTorch's BatchNorm2d with affine
/// weight/bias and tracked running statistics; as BatchNorm1d (`oneDimensional`) over (N) or
/// (N, L) per feature of [C] or [C, L] items, the same arithmetic.
///
/// Train mode normalises with the batch mean and biased variance, and (when the execution
/// allows) moves running_mean / running_var by `momentum` toward the batch mean and the
/// unbiased variance, counting num_batches_tracked. Eval mode uses the running statistics,
/// which makes it a per-channel affine map.
public final class BatchNorm2d: LeafLayer {
    public let name: String
    public var kind: String { oneDimensional ? "batchnorm1d" : "batchnorm2d" }
    /// BatchNorm1d: items [C] or [C, L] rather than [C, H, W].
    public let oneDimensional: Bool
    public var traceIndex = -1
    public let features: Int
    public let eps: Float, momentum: Float
    public let weight: Parameter, bias: Parameter
    public let runningMean: Parameter, runningVar: Parameter, batchesTracked: Parameter
    public var parameters: [Parameter] { [weight, bias] }
    public var buffers: [Parameter] { [runningMean, runningVar, batchesTracked] }

    public init(name: String, features: Int, eps: Float, momentum: Float, oneDimensional: Bool = false) {
        self.name = name
        self.oneDimensional = oneDimensional
        self.features = features
        self.eps = eps
        self.momentum = momentum
        weight = Parameter(name: name + ".weight", value: Tensor(shape: [features], repeating: 1))
        bias = Parameter(name: name + ".bias", value: Tensor(shape: [features]))
        runningMean = Parameter(name: name + ".running_mean", value: Tensor(shape: [features]), trainable: false)
        runningVar = Parameter(name: name + ".running_var", value: Tensor(shape: [features], repeating: 1), trainable: false)
        batchesTracked = Parameter(name: name + ".num_batches_tracked", value: Tensor(shape: []), trainable: false, storageType: "I64")
    }

    public func outputShape(_ input: [Int]) throws -> [Int] {
        if oneDimensional {
            guard (1...2).contains(input.count), input[0] == features else {
                throw ModelError.shapeMismatch(layer: name, message: "expects [\(features)] or [\(features), L] input, got \(input)")
            }
            return input
        }
        guard input.count == 3, input[0] == features else {
            throw ModelError.shapeMismatch(layer: name, message: "expects [\(features), H, W] input, got \(input)")
        }
        return input
    }

    public func compute(_ x: Tensor, _ run: Execution) -> (Tensor, SavedState?) {
        let (n, C) = (x.batch, features)
        let plane = x.itemCount / features
        let m = n * plane
        var mean = [Float](repeating: 0, count: C), invStd = [Float](repeating: 0, count: C)
        let train = run.mode == .train
        x.data.withUnsafeBufferPointer { xs in
            for c in 0..<C {
                if train {
                    var s = 0.0, ss = 0.0
                    for i in 0..<n {
                        let p = xs.baseAddress! + (i * C + c) * plane
                        for j in 0..<plane { s += Double(p[j]) }
                    }
                    let mu = s / Double(m)
                    for i in 0..<n {
                        let p = xs.baseAddress! + (i * C + c) * plane
                        for j in 0..<plane { let d = Double(p[j]) - mu; ss += d * d }
                    }
                    let variance = ss / Double(m)
                    mean[c] = Float(mu)
                    invStd[c] = Float(1 / (variance + Double(eps)).squareRoot())
                    if run.updateRunningStatistics {
                        let unbiased = m > 1 ? variance * Double(m) / Double(m - 1) : variance
                        runningMean.value.data[c] = (1 - momentum) * runningMean.value.data[c] + momentum * Float(mu)
                        runningVar.value.data[c] = (1 - momentum) * runningVar.value.data[c] + momentum * Float(unbiased)
                    }
                } else {
                    mean[c] = runningMean.value.data[c]
                    invStd[c] = 1 / (runningVar.value.data[c] + eps).squareRoot()
                }
            }
        }
        if train && run.updateRunningStatistics { batchesTracked.value.data[0] += 1 }
        var normalized = Tensor(shape: x.shape)
        let y = Tensor(uninitializedShape: x.shape) { out in
            x.data.withUnsafeBufferPointer { xs in
                normalized.data.withUnsafeMutableBufferPointer { xh in
                    for i in 0..<n {
                        for c in 0..<C {
                            let off = (i * C + c) * plane
                            let (mu, inv) = (mean[c], invStd[c])
                            let (gamma, beta) = (weight.value.data[c], bias.value.data[c])
                            for j in 0..<plane {
                                let h = (xs[off + j] - mu) * inv
                                xh[off + j] = h
                                out[off + j] = gamma * h + beta
                            }
                        }
                    }
                }
            }
        }
        return (y, .batchNorm(normalized: normalized, invStd: invStd, batchStatistics: train))
    }

    public func gradient(_ dy: Tensor, input x: Tensor, output y: Tensor, saved: SavedState?,
                         _ pass: BackwardPass, needInput: Bool) -> Tensor? {
        guard case .batchNorm(let xh, let invStd, let usedBatchStatistics)? = saved else { return nil }
        let (n, C) = (x.batch, features)
        let plane = x.itemCount / features
        let m = Float(n * plane)
        // Per channel: sum(dy) and sum(dy * x̂), which give dβ, dγ and the train-mode dx.
        var sumDy = [Float](repeating: 0, count: C), sumDyXh = [Float](repeating: 0, count: C)
        dy.data.withUnsafeBufferPointer { g in
            xh.data.withUnsafeBufferPointer { h in
                for i in 0..<n {
                    for c in 0..<C {
                        let off = (i * C + c) * plane
                        var s: Float = 0, sh: Float = 0
                        for j in 0..<plane { s += g[off + j]; sh += g[off + j] * h[off + j] }
                        sumDy[c] += s
                        sumDyXh[c] += sh
                    }
                }
            }
        }
        if pass.wantParameters {
            pass.gradients.accumulate(weight, Tensor(shape: [C], data: sumDyXh))
            pass.gradients.accumulate(bias, Tensor(shape: [C], data: sumDy))
        }
        guard needInput else { return nil }
        // Which statistics the forward used decides the input gradient: batch statistics
        // depend on x, running ones do not.
        return Tensor(uninitializedShape: x.shape) { out in
            dy.data.withUnsafeBufferPointer { g in
                xh.data.withUnsafeBufferPointer { h in
                    for i in 0..<n {
                        for c in 0..<C {
                            let off = (i * C + c) * plane
                            let k = weight.value.data[c] * invStd[c]
                            if usedBatchStatistics {
                                let a = sumDy[c] / m, b = sumDyXh[c] / m
                                for j in 0..<plane { out[off + j] = k * (g[off + j] - a - h[off + j] * b) }
                            } else {
                                for j in 0..<plane { out[off + j] = k * g[off + j] }
                            }
                        }
                    }
                }
            }
        }
    }
}
