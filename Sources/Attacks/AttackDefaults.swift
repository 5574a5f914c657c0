import Foundation
import Settings

/// Each method's default for one parameter, as help texts show it (`advlens attack --help`):
/// read from the methods' own `fillDefaults`, so the text cannot drift from what runs, and a
/// new method's defaults appear with its registry line.
public enum AttackDefaults {
    /// "fgsm 0.3, bim 0.3, pgd 0.3 (l2: 2), ..." for `field`, over the methods that take it.
    public static func text(_ field: AttackConfig.Field) -> String {
        AttackRegistry.all.filter { $0.parameters.contains(field) }.compactMap { m -> String? in
            // The norm's own default is the method's first norm; other fields per norm.
            let values = (field == .norm ? [m.norms[0]] : m.norms).map { norm -> String? in
                var c = AttackConfig(method: m.name)
                c.norm = norm
                m.fillDefaults(&c)
                return value(field, of: c)
            }
            guard let first = values[0] else { return nil }
            var entry = "\(m.name.rawValue) \(first)"
            for (norm, v) in zip(m.norms.dropFirst(), values.dropFirst()) where v != first {
                entry += " (\(norm.rawValue): \(v ?? "none"))"
            }
            return entry
        }.joined(separator: ", ")
    }

    /// The parameter's value as the command line writes it.
    static func value(_ field: AttackConfig.Field, of c: AttackConfig) -> String? {
        func number(_ v: Float?) -> String? { v.map { String(format: "%g", Double($0)) } }
        switch field {
        case .method: return c.method.rawValue
        case .norm: return c.norm?.rawValue
        case .epsilon: return number(c.epsilon)
        case .stepSize: return number(c.stepSize)
        case .steps: return c.steps.map(String.init)
        case .restarts: return c.restarts.map(String.init)
        case .randomStart: return c.randomStart.map { String($0) }
        case .decay: return number(c.decay)
        case .targeted: return c.targeted.map { String($0) }
        case .target: return c.target.map { "\($0)" }
        case .targetsPerImage: return c.targetsPerImage.map(String.init)
        case .kappa: return number(c.kappa)
        case .c: return number(c.c)
        case .binarySearchSteps: return c.binarySearchSteps.map(String.init)
        case .learningRate: return number(c.learningRate)
        case .lambda: return number(c.lambda)
        case .overshoot: return number(c.overshoot)
        case .loss: return c.loss?.rawValue
        case .targetClasses: return c.targetClasses.map(String.init)
        case .queries: return c.queries.map(String.init)
        case .squareFraction: return number(c.squareFraction)
        case .version: return c.version?.rawValue
        case .earlyStop: return c.earlyStop.map { String($0) }
        case .seed: return c.seed.map { String($0) }
        }
    }
}
