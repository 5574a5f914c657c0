import JSON
/// A closed set of names on the wire (a norm, an optimiser kind, a schedule): decoding an
/// unknown name fails with the one message every such field shares,
/// `unknown "pdg"; known: fgsm, bim, ...`, which a decoder reports at the field's path.
public protocol WireEnum: RawRepresentable, CaseIterable, Codable, Sendable, Hashable where RawValue == String {}

extension WireEnum {
    public init(from decoder: Decoder) throws {
        let name = try decoder.singleValueContainer().decode(String.self)
        guard let value = Self(rawValue: name) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: Self.unknown(name)))
        }
        self = value
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }

    /// `unknown "x"; known: a, b, c`.
    public static func unknown(_ name: String) -> String {
        SettingsError.unknownMessage(name, known: allCases.map(\.rawValue))
    }

    /// The value named `name`, or the shared error for `field`.
    public static func named(_ name: String, field: String) throws -> Self {
        guard let v = Self(rawValue: name) else { throw SettingsError.invalid(field, unknown(name)) }
        return v
    }
}

/// A name on the wire from a set that a registry holds rather than an enum (attack methods,
/// probe kinds, explainers: one file each, listed by their module's registry). It decodes as
/// any string; the registry checks it, and refuses an unknown name with the message a
/// `WireEnum` gives (`SettingsError.unknown`).
public protocol WireName: Codable, Sendable, Hashable, ExpressibleByStringLiteral, CustomStringConvertible {
    var rawValue: String { get }
    init(rawValue: String)
}

extension WireName {
    public init(stringLiteral value: String) { self.init(rawValue: value) }
    public init(from decoder: Decoder) throws { self.init(rawValue: try decoder.singleValueContainer().decode(String.self)) }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }
    public var description: String { rawValue }
}

extension SettingsError {
    /// `unknown "x"; known: a, b, c`: the one message for a name outside a closed set, an enum's
    /// or a registry's.
    public static func unknownMessage(_ name: String, known: [String]) -> String {
        "unknown \(ClientText.quoted(name)); known: \(known.joined(separator: ", "))"
    }

    /// That message for `field`.
    public static func unknown(_ field: String, _ name: String, known: [String]) -> SettingsError {
        .invalid(field, unknownMessage(name, known: known))
    }
}

/// Errors thrown while a settings object checks itself during decoding become decoding errors
/// at the offending field's path, so the client reads `params.optimizer.momentum: ...`
/// whatever object the settings sit in.
public struct SettingsKey: CodingKey {
    public let stringValue: String
    public var intValue: Int? { nil }
    public init(_ s: String) { stringValue = s }
    public init?(stringValue: String) { self.stringValue = stringValue }
    public init?(intValue: Int) { return nil }
}

extension SettingsError {
    /// As a `DecodingError` at `decoder`'s path plus this error's field.
    public func decodingError(at decoder: Decoder) -> DecodingError {
        let path = decoder.codingPath + field.split(separator: ".").map { SettingsKey(String($0)) }
        return .dataCorrupted(.init(codingPath: path, debugDescription: message))
    }
}
