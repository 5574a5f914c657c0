/// A setting that cannot be used as given; `field` names it relative to the settings object
/// (the daemon prefixes where the object sits, e.g. "params." or "params.attack.").
///
/// One error type for every settings object (attack, optimiser, schedule, training
/// objective), so every layer that checks settings reports them the same way.
public enum SettingsError: Error, CustomStringConvertible, Equatable, Sendable {
    case invalid(String, String)

    public var field: String { if case .invalid(let f, _) = self { return f }; return "" }
    public var message: String { if case .invalid(_, let m) = self { return m }; return "" }

    public var description: String {
        switch self {
        case let .invalid(field, message): return "\(field): \(message)"
        }
    }

    /// The same error with `prefix` before the field ("optimizer." + "learningRate").
    public func prefixed(_ prefix: String) -> SettingsError { .invalid(prefix + field, message) }
}
