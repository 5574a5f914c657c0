import Settings

/// BIM / I-FGSM (Kurakin et al.): signed-gradient steps of stepSize, projected onto the L-inf ball.
enum BIM: AttackMethodDefinition {
    static let name: AttackConfig.MethodName = "bim"
    static let parameters: Set<AttackConfig.Field> = [.epsilon, .stepSize, .steps, .targeted, .target]
    static let norms: [Norm] = [.linf]
    static let targeting = Targeting.optional

    static func fillDefaults(_ c: inout AttackConfig) {
        c.epsilon = c.epsilon ?? 0.3
        c.steps = c.steps ?? 40
        c.stepSize = c.stepSize ?? 0.01
    }

    static func run(_ config: AttackConfig, on ensemble: Ensemble, monitor: AttackMonitor, batch: inout AttackBatch) throws -> Bool {
        try GradientAttack(config: config, rule: .projected, ensemble: ensemble, monitor: monitor).run(&batch)
    }
}

extension AttackConfig.MethodName { public static let bim = BIM.name }
