import Settings

extension AttackConfig {
    /// Every parameter set: the method's defaults where the caller left one open. Throws for
    /// an unknown method, values out of range, or parameters the method does not take, so a
    /// value that would be ignored is never echoed as if it had been applied.
    public func resolved() throws -> AttackConfig {
        if isResolved { return self }
        let m = try AttackRegistry.method(method)
        let name = method.rawValue
        // Naming the norm a method already uses is harmless; another one is an error.
        if let norm, !m.norms.contains(norm) {
            let own = m.norms[0]
            throw SettingsError.invalid("norm", "\(name) is an \(own == .linf ? "L-inf" : "L2") attack\(own == .linf ? "; use pgd with norm l2" : "")")
        }
        let accepted = m.parameters.union([.norm])
        if let unused = given.first(where: { !accepted.contains($0) }) {
            let list = accepted.map(\.rawValue).sorted().joined(separator: ", ")
            throw SettingsError.invalid(unused.rawValue, "\(name) does not use it (it takes \(list), seed and earlyStop)")
        }
        if m.targeting == .always && targeted == false {
            throw SettingsError.invalid("targeted", "\(name) is a targeted attack")
        }
        var r = self
        r.norm = norm ?? m.norms[0]
        m.fillDefaults(&r)
        if m.targeting == .always { r.targeted = true }
        r.targeted = r.targeted ?? (target != nil)
        if r.targeted == true {
            guard m.targeting != .never else { throw SettingsError.invalid("targeted", "\(name) is untargeted") }
            r.target = r.target ?? .random
        } else if target != nil {
            throw SettingsError.invalid("target", "given, but targeted is false")
        }
        r.earlyStop = earlyStop ?? true
        r.seed = seed ?? 0
        try r.validateRanges()
        r.isResolved = true
        return r
    }
}
