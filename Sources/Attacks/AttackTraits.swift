import Settings

/// What evaluate's worst case and its gradient-masking checks need to know of an attack, read
/// from its registry definition and its resolved settings: a method added to the registry is
/// classified without a line here.
public struct AttackTraits: Sendable, Equatable {
    /// White box (follows the model's gradients); false for a score-based black-box method.
    public var usesGradients: Bool
    /// Takes an epsilon parameter (a perturbation budget) at all.
    public var takesEpsilon: Bool
    /// The resolved epsilon (nil: the attack runs without a budget).
    public var epsilon: Float?
    /// The resolved iterations (nil for a method without steps).
    public var steps: Int?

    public init(usesGradients: Bool, takesEpsilon: Bool, epsilon: Float?, steps: Int?) {
        self.usesGradients = usesGradients
        self.takesEpsilon = takesEpsilon
        self.epsilon = epsilon
        self.steps = steps
    }

    /// One gradient step within a budget (FGSM, FFGSM, PGD with one step).
    public var isSingleStep: Bool { usesGradients && epsilon != nil && steps == 1 }
    /// Several gradient steps within a budget (BIM, PGD, MI-FGSM, ...).
    public var isIterative: Bool { usesGradients && epsilon != nil && (steps ?? 0) > 1 }
}

extension AttackConfig {
    /// The traits of these settings, resolved (throws what resolving throws).
    public func traits() throws -> AttackTraits {
        let r = try resolved()
        let m = try AttackRegistry.method(r.method)
        return AttackTraits(usesGradients: m.usesGradients, takesEpsilon: m.parameters.contains(.epsilon), epsilon: r.epsilon, steps: r.steps)
    }

    /// Whether the method takes an epsilon (without resolving the rest).
    public func takesEpsilon() throws -> Bool { try AttackRegistry.method(method).parameters.contains(.epsilon) }
}
