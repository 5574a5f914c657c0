import Foundation
import Settings
import TensorEngine

/// APGD-T (Croce & Hein 2020): APGD with the targeted DLR objective (or minus the target's
/// cross-entropy with `loss: ce`), run once per target class over the `targetClasses` classes
/// the clean image ranks highest after its label (the 2nd, 3rd, ... largest logit of the
/// ensemble's averaged logits), each run on the samples still correctly classified. Its
/// success is a misclassification, whatever the class: it is an untargeted attack that uses
/// targets to find better directions, as in AutoAttack.
enum APGDTargetedAttack: AttackMethodDefinition {
    static let name: AttackConfig.MethodName = "apgd-t"
    static let parameters: Set<AttackConfig.Field> = [.norm, .epsilon, .steps, .restarts, .loss, .targetClasses]
    static let norms: [Norm] = [.linf, .l2]
    static let targeting = Targeting.never

    static func fillDefaults(_ c: inout AttackConfig) {
        c.epsilon = c.epsilon ?? (c.norm == .l2 ? 2.0 : 0.3)
        c.steps = c.steps ?? 100
        c.restarts = c.restarts ?? 1
        c.loss = c.loss ?? .dlr
        c.targetClasses = c.targetClasses ?? 9
    }

    static func run(_ config: AttackConfig, on ensemble: Ensemble, monitor: AttackMonitor, batch: inout AttackBatch) throws -> Bool {
        let classes = config.targetClasses!
        let ranked = try Attack.classesByCleanLogit(ensemble, batch, taking: classes)
        let objective: AttackObjective = config.loss! == .dlr ? .targetedDLR : .targetedCrossEntropy
        let run = APGDRun(config: config, ensemble: ensemble, monitor: monitor, objective: objective,
                          totalIterations: classes * config.restarts! * config.steps!)
        var done = 0
        for rank in 0..<classes {
            let targets = ranked.map { $0[rank] }
            for restart in 0..<config.restarts! {
                let active = batch.active
                guard !active.isEmpty else { return false }
                let stream = UInt64(rank * config.restarts! + restart)
                if try run.run(on: active, lossTargets: targets, batch: &batch, stream: stream, iterationsBefore: done) { return true }
                done += config.steps!
            }
        }
        return false
    }
}

extension AttackConfig.MethodName { public static let apgdT = APGDTargetedAttack.name }
