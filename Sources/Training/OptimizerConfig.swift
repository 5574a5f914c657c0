import NN
import Settings

/// The optimiser a configuration (Settings) describes.
extension OptimizerConfig {
    /// A fresh optimiser (empty state).
    public func make() -> Optimizer {
        switch kind {
        case .sgd:
            return SGD(learningRate: learningRate, momentum: momentum!, dampening: dampening!, weightDecay: weightDecay, nesterov: nesterov!)
        case .adam, .adamw:
            return Adam(learningRate: learningRate, beta1: beta1!, beta2: beta2!, eps: eps!, weightDecay: weightDecay, decoupled: kind == .adamw)
        }
    }
}
