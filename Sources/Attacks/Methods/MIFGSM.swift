import Settings

/// MI-FGSM (Dong et al. 2018): signed steps along an accumulated, normalised gradient.
enum MIFGSM: AttackMethodDefinition {
    static let name: AttackConfig.MethodName = "mifgsm"
    static let parameters: Set<AttackConfig.Field> = [.epsilon, .stepSize, .steps, .decay, .targeted, .target]
    static let norms: [Norm] = [.linf]
    static let targeting = Targeting.optional

    static func fillDefaults(_ c: inout AttackConfig) {
        c.epsilon = c.epsilon ?? 0.3
        c.steps = c.steps ?? 10
        c.stepSize = c.stepSize ?? (c.epsilon! / Float(c.steps!))
        c.decay = c.decay ?? 1.0
    }

    static func run(_ config: AttackConfig, on ensemble: Ensemble, monitor: AttackMonitor, batch: inout AttackBatch) throws -> Bool {
        try GradientAttack(config: config, rule: .momentum, ensemble: ensemble, monitor: monitor).run(&batch)
    }
}

extension AttackConfig.MethodName { public static let mifgsm = MIFGSM.name }
