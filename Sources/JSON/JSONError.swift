/// Why JSON text or a JSON value was refused. The message is the whole sentence a caller shows
/// (the RPC layer sends it as the error message of -32700 or -32602 unchanged).
public struct JSONError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The text is not JSON (or breaks a limit): "invalid JSON at byte 12: ...".
        case syntax
        /// A repeated object key, when the parse was asked to refuse them; `depth` 1 is the
        /// top-level object.
        case duplicateKey(String, depth: Int)
        /// A value does not have the shape a Decodable type asked for: "params.x: expected ...".
        case invalidValue
    }

    public let kind: Kind
    public let message: String
    /// For `.invalidValue` from `JSONCoding.decode`: the field's path ("nodes[3].input") and the
    /// reason alone, for callers that report them apart (a key may itself contain ": ", so the
    /// message cannot be split back into the two).
    public let field: String?
    public let reason: String?

    public init(_ kind: Kind, _ message: String, field: String? = nil, reason: String? = nil) {
        self.kind = kind
        self.message = message
        self.field = field
        self.reason = reason
    }

    public var description: String { message }
}
