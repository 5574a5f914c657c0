import Foundation
import TensorEngine

extension Model {
    /// PyTorch's default initialisation, drawn from `SeededRNG(seed)` in layer order:
    /// conv2d and linear weights uniform in ±1/sqrt(fan_in) (kaiming_uniform with a = sqrt(5)),
    /// their biases uniform in ±1/sqrt(fan_in); batchnorm weight 1, bias 0, running mean 0,
    /// running variance 1, batches tracked 0; a trainable `parameter` node uniform in
    /// ±1/sqrt(its last dimension). The distributions are PyTorch's; the values differ,
    /// since the random streams do.
    public func initialize(seed: UInt64) {
        var rng = SeededRNG(seed: seed)
        func uniform(_ p: Parameter, bound: Float) {
            p.value.data.withUnsafeMutableBufferPointer { v in
                for i in 0..<v.count { v[i] = rng.uniform(-bound, bound) }
            }
        }
        for layer in layers {
            switch layer {
            case let conv as Conv2d:
                let bound = 1 / Float(conv.inChannels * conv.kernel.0 * conv.kernel.1).squareRoot()
                uniform(conv.weight, bound: bound)
                if let b = conv.bias { uniform(b, bound: bound) }
            case let lin as Linear:
                let bound = 1 / Float(lin.inFeatures).squareRoot()
                uniform(lin.weight, bound: bound)
                if let b = lin.bias { uniform(b, bound: bound) }
            case let node as ParameterNode where node.tensor.trainable:
                // A bare nn.Parameter has no PyTorch default; drawn as a linear layer's weight
                // over its last dimension (a ViT's in_proj_weight, class token and position
                // embedding then carry signal, which zeros would not).
                uniform(node.tensor, bound: 1 / Float(max(node.tensor.value.shape.last ?? 1, 1)).squareRoot())
            case let bn as BatchNorm2d:
                bn.weight.value = Tensor(shape: [bn.features], repeating: 1)
                bn.bias.value = Tensor(shape: [bn.features])
                bn.runningMean.value = Tensor(shape: [bn.features])
                bn.runningVar.value = Tensor(shape: [bn.features], repeating: 1)
                bn.batchesTracked.value = Tensor(shape: [])
            default:
                break
            }
        }
    }
}
