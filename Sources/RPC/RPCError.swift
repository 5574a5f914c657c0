/// JSON-RPC error codes: the standard ones and LSP's (the transport's own). A server's codes
/// in JSON-RPC's -32099...-32000 block live with its protocol (AdvLens's: Protocol's
/// `AdvLensErrorCode`).
///
/// Kept as plain `Int` constants so a handler compares `error.code == ErrorCode.invalidParams`
/// without conversions.
public enum ErrorCode {
    // JSON-RPC 2.0.
    public static let parseError = -32700          // the bytes are not JSON (id null unless recovered)
    public static let invalidRequest = -32600      // JSON, but not a valid request (or a lifecycle violation)
    public static let methodNotFound = -32601
    public static let invalidParams = -32602       // the message names the field and what was expected
    public static let internalError = -32603       // a handler failed with an unexpected error

    // LSP (-32899 ... -32800 and -32002).
    public static let serverNotInitialized = -32002
    public static let requestCancelled = -32800    // error.data carries partial results when there are some
}

/// An error a request answers with: the `error` member of a JSON-RPC response.
///
/// Handlers throw these; anything else they throw becomes `internalError` with its description.
public struct RPCError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: Int
    public var message: String
    public var data: JSONValue?

    public init(code: Int, message: String, data: JSONValue? = nil) {
        self.code = code; self.message = message; self.data = data
    }

    public var description: String { "RPCError(\(code)): \(message)" }

    /// The `error` object as sent on the wire.
    public var json: JSONValue {
        var o: JSONObject = ["code": .number(Double(code)), "message": .string(message)]
        if let data { o["data"] = data }
        return .object(o)
    }

    public static func parseError(_ message: String) -> RPCError { RPCError(code: ErrorCode.parseError, message: message) }
    public static func invalidRequest(_ message: String) -> RPCError { RPCError(code: ErrorCode.invalidRequest, message: message) }
    public static func methodNotFound(_ method: String) -> RPCError {
        RPCError(code: ErrorCode.methodNotFound, message: "method not found: \(method)")
    }
    public static func invalidParams(_ message: String) -> RPCError { RPCError(code: ErrorCode.invalidParams, message: message) }
    public static func internalError(_ message: String) -> RPCError { RPCError(code: ErrorCode.internalError, message: message) }
    public static func serverNotInitialized() -> RPCError {
        RPCError(code: ErrorCode.serverNotInitialized, message: "server not initialized: send initialize first")
    }
    /// The reply of a cancelled request; `partial` (e.g. what an attack found so far) goes in error.data.
    public static func cancelled(partial: JSONValue? = nil) -> RPCError {
        RPCError(code: ErrorCode.requestCancelled, message: "request cancelled", data: partial)
    }
}

/// A request id: JSON-RPC allows a number or a string (null ids are refused as invalid).
public enum RequestID: Hashable, Sendable, CustomStringConvertible {
    case number(Int)
    case string(String)

    /// The id as JSON; nil for JSON values that are not valid ids (null, fractions, objects...).
    public init?(json: JSONValue) {
        switch json {
        case .integer(let i):
            guard let n = Int(exactly: i) else { return nil }
            self = .number(n)
        case .number(let d):
            // A number that is not an exact integer literal within 64 bits (1e3, 5.0, or beyond
            // Int64): exact only below 2^53; anything larger would come back changed, so it is
            // refused as an id.
            guard abs(d) < 9_007_199_254_740_992 else { return nil }
            guard let i = Int(exactly: d) else { return nil }
            self = .number(i)
        case .string(let s): self = .string(s)
        default: return nil
        }
    }

    public var json: JSONValue {
        switch self {
        case .number(let i): return .integer(Int64(i))
        case .string(let s): return .string(s)
        }
    }

    public var description: String {
        switch self {
        case .number(let i): return String(i)
        case .string(let s): return "\"\(s)\""
        }
    }
}

/// A system call the transport needs failed (a socket that cannot be bound, stdout that cannot
/// be duplicated): a start-up failure of the process, not a reply to any request.
public struct SystemCallError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
