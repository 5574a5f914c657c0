@_exported import JSON

/// The JSON module's Codable bridge with the transport's errors: a params value that does not
/// fit its type is -32602 with the JSON module's message unchanged (`params.inputs[2].indices:
/// expected an array of integers, got string`, `params.eps: unknown field; did you mean
/// "epsilon"?`). See `JSONCoding` for the rules.
public enum JSONValueCoding {
    public static func decode<T: Decodable>(_ type: T.Type, from value: JSONValue, path: String = "params") throws -> T {
        do {
            return try JSONCoding.decode(type, from: value, path: path)
        } catch let error as JSONError {
            throw RPCError(error)
        }
    }

    public static func encode<T: Encodable>(_ value: T) throws -> JSONValue {
        try JSONCoding.encode(value)
    }
}

extension RPCError {
    /// A JSON module error as the transport answers it: text that is not JSON is -32700, a
    /// value of the wrong shape -32602, each with the JSON module's message.
    public init(_ error: JSONError) {
        switch error.kind {
        case .syntax, .duplicateKey: self = .parseError(error.message)
        case .invalidValue: self = .invalidParams(error.message)
        }
    }
}
