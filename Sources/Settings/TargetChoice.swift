/// How targets are chosen for a targeted attack. On the wire: "random", "leastLikely", one
/// class, or one class per input image.
public enum TargetChoice: Codable, Sendable, Equatable {
    case random, leastLikely
    /// One class per input image.
    case given([Int])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let name = try? c.decode(String.self) {
            switch name {
            case "random": self = .random
            case "leastLikely": self = .leastLikely
            default:
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                    debugDescription: "expected \"random\", \"leastLikely\" or class indices, got \"\(name)\""))
            }
        } else if let one = try? c.decode(Int.self) {
            self = .given([one])
        } else {
            self = .given(try c.decode([Int].self))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .random: try c.encode("random")
        case .leastLikely: try c.encode("leastLikely")
        case .given(let list): try c.encode(list)
        }
    }
}
