/// Bad attack parameters, naming the field (the daemon prefixes "params.").
public enum AttackError: Error, CustomStringConvertible, Equatable {
    case invalid(String, String)

    public var field: String { if case .invalid(let f, _) = self { return f }; return "" }

    public var description: String {
        switch self {
        case let .invalid(field, message): return "\(field): \(message)"
        }
    }
}
