import Settings

/// PGD (Madry et al.), L-inf or L2: projected steps from a random start, with restarts.
enum PGD: AttackMethodDefinition {
    static let name: AttackConfig.MethodName = "pgd"
    static let parameters: Set<AttackConfig.Field> = [.norm, .epsilon, .stepSize, .steps, .restarts, .randomStart, .targeted, .target]
    static let norms: [Norm] = [.linf, .l2]
    static let targeting = Targeting.optional

    static func fillDefaults(_ c: inout AttackConfig) {
        let l2 = c.norm == .l2
        c.epsilon = c.epsilon ?? (l2 ? 2.0 : 0.3)
        c.steps = c.steps ?? 40
        c.stepSize = c.stepSize ?? (l2 ? 0.2 : 0.01)
        c.restarts = c.restarts ?? 1
        c.randomStart = c.randomStart ?? true
    }

    static func run(_ config: AttackConfig, on ensemble: Ensemble, monitor: AttackMonitor, batch: inout AttackBatch) throws -> Bool {
        try GradientAttack(config: config, rule: .projected, ensemble: ensemble, monitor: monitor).run(&batch)
    }
}

extension AttackConfig.MethodName { public static let pgd = PGD.name }
