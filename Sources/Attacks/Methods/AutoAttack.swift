import Foundation
import Settings
import TensorEngine

/// AutoAttack (Croce & Hein 2020): an ensemble of parameter-free attacks, each run only on
/// the samples the earlier ones left robust, so a sample counts as robust only if every
/// attack failed on it. `standard`: APGD-CE (100 steps), APGD-T (the targeted DLR toward the
/// 9 highest-ranked other classes, 100 steps each), FAB-T (9 target classes, 100 steps each),
/// then the Square black box (5,000 queries). `rand`, for models with randomness: APGD-CE and
/// APGD-DLR with the gradient averaged over 20 draws per iteration (for AdvLens's models,
/// deterministic in evaluation, the draws coincide). Every member runs with this call's norm,
/// epsilon, seed and earlyStop (each member still marks the samples it fooled done when it
/// ends, so the next runs only on the robust ones either way); target classes are capped at
/// the model's classes − 1. Untargeted: a success is a misclassification within epsilon.
enum AutoAttack: AttackMethodDefinition {
    static let name: AttackConfig.MethodName = "autoattack"
    static let parameters: Set<AttackConfig.Field> = [.norm, .epsilon, .version]
    static let norms: [Norm] = [.linf, .l2]
    static let targeting = Targeting.never

    /// AutoAttack's `rand` gradient draws per iteration.
    static let randDraws = 20

    static func fillDefaults(_ c: inout AttackConfig) {
        c.epsilon = c.epsilon ?? (c.norm == .l2 ? 2.0 : 0.3)
        c.version = c.version ?? .standard
    }

    /// The members in order, each with its settings (resolved) and its gradient draws.
    static func members(_ config: AttackConfig, classes: Int) throws -> [(config: AttackConfig, draws: Int)] {
        func member(_ method: AttackConfig.MethodName, _ set: (inout AttackConfig) -> Void = { _ in }) throws -> AttackConfig {
            var c = AttackConfig(method: method)
            (c.norm, c.epsilon, c.seed, c.earlyStop) = (config.norm, config.epsilon, config.seed, config.earlyStop)
            set(&c)
            return try c.resolved()
        }
        let targetClasses = min(9, classes - 1)
        switch config.version! {
        case .standard:
            return [
                (try member(.apgd) { $0.loss = .ce }, 1),
                (try member(.apgdT) { $0.targetClasses = targetClasses }, 1),
                (try member(.fabT) { $0.targetClasses = targetClasses }, 1),
                (try member(.square), 1),
            ]
        case .rand:
            return [(try member(.apgd) { $0.loss = .ce }, randDraws), (try member(.apgd) { $0.loss = .dlr }, randDraws)]
        }
    }

    static func run(_ config: AttackConfig, on ensemble: Ensemble, monitor: AttackMonitor, batch: inout AttackBatch) throws -> Bool {
        let list = try members(config, classes: ensemble.classCount)
        // Progress: each member takes an equal share of the bar.
        let share = 1000
        for (stage, m) in list.enumerated() {
            guard !batch.active.isEmpty else { break }
            let inner = AttackMonitor(progress: { i, n, fooled in
                monitor.progress(stage * share + i * share / max(n, 1), list.count * share, fooled)
            }, shouldStop: monitor.shouldStop)
            let before = batch.iterations, running = batch.active
            for i in running { batch.iterations[i] = 0 }
            let stopped = m.draws > 1
                ? try APGDAttack.run(m.config, on: ensemble, monitor: inner, batch: &batch, draws: m.draws)
                : try AttackRegistry.method(m.config.method).run(m.config, on: ensemble, monitor: inner, batch: &batch)
            // Iterations add up over the members a sample went through (each counts from 0).
            for i in running { batch.iterations[i] += before[i] }
            if stopped { return true }
        }
        return false
    }
}

extension AttackConfig.MethodName { public static let autoattack = AutoAttack.name }
