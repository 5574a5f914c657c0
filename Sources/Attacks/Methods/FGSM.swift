import Settings

/// FGSM (Goodfellow et al.): one signed-gradient step of size epsilon.
enum FGSM: AttackMethodDefinition {
    static let name: AttackConfig.MethodName = "fgsm"
    static let parameters: Set<AttackConfig.Field> = [.epsilon, .targeted, .target]
    static let norms: [Norm] = [.linf]
    static let targeting = Targeting.optional

    static func fillDefaults(_ c: inout AttackConfig) {
        c.epsilon = c.epsilon ?? 0.3
        c.steps = 1
    }

    static func run(_ config: AttackConfig, on ensemble: Ensemble, monitor: AttackMonitor, batch: inout AttackBatch) throws -> Bool {
        try GradientAttack(config: config, rule: .fullStep, ensemble: ensemble, monitor: monitor).run(&batch)
    }
}

extension AttackConfig.MethodName { public static let fgsm = FGSM.name }
