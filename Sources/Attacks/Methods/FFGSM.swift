import Settings

/// Fast FGSM (Wong, Rice and Kolter 2020, "Fast is better than free"): one signed-gradient
/// step of stepSize from a uniform random point of the L-inf ball, projected back onto the
/// ball. torchattacks' FFGSM: stepSize defaults to 1.25·epsilon (its 10/255 for 8/255).
enum FFGSM: AttackMethodDefinition {
    static let name: AttackConfig.MethodName = "ffgsm"
    static let parameters: Set<AttackConfig.Field> = [.epsilon, .stepSize, .targeted, .target]
    static let norms: [Norm] = [.linf]
    static let targeting = Targeting.optional

    static func fillDefaults(_ c: inout AttackConfig) {
        c.epsilon = c.epsilon ?? 0.3
        c.stepSize = c.stepSize ?? 1.25 * c.epsilon!
        c.steps = 1
        c.randomStart = true
    }

    static func run(_ config: AttackConfig, on ensemble: Ensemble, monitor: AttackMonitor, batch: inout AttackBatch) throws -> Bool {
        try GradientAttack(config: config, rule: .projected, ensemble: ensemble, monitor: monitor).run(&batch)
    }
}
