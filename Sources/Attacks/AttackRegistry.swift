import Settings

/// The attack methods, by wire name, in the order capabilities list them: one line each.
public enum AttackRegistry {
    static let all: [any AttackMethodDefinition.Type] = [
        FGSM.self,
        BIM.self,
        PGD.self,
        MIFGSM.self,
        EnsembleOptimizationAttack.self,
        CarliniWagnerAttack.self,
        DeepFoolAttack.self,
        FFGSM.self,
        APGDAttack.self,
        APGDTargetedAttack.self,
        SquareAttack.self,
        FABTargetedAttack.self,
        AutoAttack.self,
    ]

    public static var names: [String] { all.map { $0.name.rawValue } }

    /// The method named `name`, or the error every unknown name gets.
    static func method(_ name: AttackConfig.MethodName) throws -> any AttackMethodDefinition.Type {
        guard let m = all.first(where: { $0.name == name }) else { throw SettingsError.unknown("method", name.rawValue, known: names) }
        return m
    }
}

/// A method as the protocol's schemas describe it (the registry is the one source).
public struct AttackMethodSummary: Sendable {
    public let name: String
    /// The parameters it takes beyond method, seed and earlyStop.
    public let parameters: [AttackConfig.Field]
    public let norms: [Norm]
    public let targeting: Targeting
}

extension AttackRegistry {
    public static var summaries: [AttackMethodSummary] {
        all.map { m in
            AttackMethodSummary(name: m.name.rawValue, parameters: AttackConfig.Field.allCases.filter { m.parameters.contains($0) },
                                norms: m.norms, targeting: m.targeting)
        }
    }
}
