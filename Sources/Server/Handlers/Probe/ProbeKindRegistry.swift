import Protocol
import Settings

/// The probe kinds, by wire name, in the order errors list them: one line each.
enum ProbeKindRegistry {
    static let all: [any ProbeKind.Type] = [
        ActivationsProbe.self,
        TopActivationsProbe.self,
        ClassHistogramsProbe.self,
        ConsistencyProbe.self,
        RepresentationProbe.self,
        DissectProbe.self,
    ]

    static var names: [String] { all.map { $0.name.rawValue } }

    /// The kind named `name`, or the error every unknown name gets (`kind: unknown "x"; known: ...`).
    static func kind(_ name: Probe.Kind) throws -> any ProbeKind.Type {
        guard let k = all.first(where: { $0.name == name }) else { throw SettingsError.unknown("kind", name.rawValue, known: names) }
        return k
    }
}
