import Foundation
import NN
import Protocol
import Settings
import Training

/// trainStep's wire parameters to the Training module's types and back (defaults filled in).
extension AdvLensServer {
    static func objective(_ o: TrainStep.Objective?, model: Model) throws -> TrainingObjective {
        let o = o ?? TrainStep.Objective(kind: .standard)
        func refuse(_ fields: [(String, Bool)]) throws {
            if let f = fields.first(where: \.1) { throw TrainingError.invalid("objective.\(f.0)", "\(o.kind.rawValue) does not use it") }
        }
        func adversary(default method: AdversaryMethod) throws -> Adversary {
            let a = o.adversary ?? TrainStep.Adversary()
            do {
                return try Adversary(method: a.method ?? method, epsilon: a.epsilon, stepSize: a.stepSize, steps: a.steps, randomStart: a.randomStart)
            } catch let TrainingError.invalid(field, message) {
                throw TrainingError.invalid("objective." + field, message)
            }
        }
        let objective: TrainingObjective
        switch o.kind {
        case .standard:
            try refuse([("beta", o.beta != nil), ("lambda", o.lambda != nil), ("layers", o.layers != nil),
                        ("featureReduction", o.featureReduction != nil), ("adversary", o.adversary != nil)])
            objective = .standard
        case .pgd:
            try refuse([("beta", o.beta != nil), ("lambda", o.lambda != nil), ("layers", o.layers != nil), ("featureReduction", o.featureReduction != nil)])
            objective = .pgd(try adversary(default: .pgd))
        case .trades:
            try refuse([("lambda", o.lambda != nil), ("layers", o.layers != nil), ("featureReduction", o.featureReduction != nil)])
            objective = .trades(beta: o.beta ?? 6, adversary: try adversary(default: .kl))
        case .consistent:
            try refuse([("beta", o.beta != nil)])
            objective = .consistent(lambda: o.lambda ?? 1, layers: o.layers ?? [penultimateLayer(model)], featureReduction: o.featureReduction ?? .sum,
                                    adversary: try adversary(default: .fgsm))
        }
        try objective.validate(for: model)
        return objective
    }

    /// The layer whose output feeds the last top-level layer (the classifier's input
    /// features), passing over dropout layers before it (the features, not their masked copy).
    static func penultimateLayer(_ model: Model) -> String {
        let before = model.topLevelLayers.dropLast()
        return before.last(where: { $0.kind != "dropout" })?.name ?? model.logitsLayer
    }

    static func wire(_ o: TrainingObjective) -> TrainStep.Objective {
        func wire(_ a: Adversary) -> TrainStep.Adversary {
            TrainStep.Adversary(method: a.method, epsilon: a.epsilon, stepSize: a.stepSize, steps: a.steps, randomStart: a.randomStart)
        }
        switch o {
        case .standard: return TrainStep.Objective(kind: .standard)
        case .pgd(let a): return TrainStep.Objective(kind: .pgd, adversary: wire(a))
        case let .trades(beta, a): return TrainStep.Objective(kind: .trades, beta: beta, adversary: wire(a))
        case let .consistent(lambda, layers, reduction, a):
            return TrainStep.Objective(kind: .consistent, lambda: lambda, layers: layers, featureReduction: reduction, adversary: wire(a))
        }
    }
}
