/// JSON-RPC error codes: the standard ones, LSP's, and AdvLens's server range.
///
/// Kept as plain `Int` constants so a handler compares `error.code == ErrorCode.notFound`
/// without conversions, and the numbers appear in one place for protocol/errors.md.
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
    public static let contentModified = -32801     // reserved; not used yet

    // AdvLens server range (-32099 ... -32000 is JSON-RPC's "server error" block):
    public static let notFound = -32001            // a model, dataset, layer or result handle that does not exist
    public static let shapeMismatch = -32010       // a tensor's shape does not fit the model or another input
    public static let resourceLimit = -32011       // too large a batch, too many handles, memory or size caps
    public static let ioError = -32012             // a file could not be read or written
    public static let pathOutsideRoot = -32013     // a client path resolves outside the workspace root
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
    /// `what` names the thing, e.g. `.notFound("model \"mnist-small\"")` -> `model "mnist-small" not found`.
    public static func notFound(_ what: String) -> RPCError { RPCError(code: ErrorCode.notFound, message: "\(what) not found") }
    public static func shapeMismatch(_ message: String) -> RPCError { RPCError(code: ErrorCode.shapeMismatch, message: message) }
    public static func resourceLimit(_ message: String) -> RPCError { RPCError(code: ErrorCode.resourceLimit, message: message) }
    public static func ioError(_ message: String) -> RPCError { RPCError(code: ErrorCode.ioError, message: message) }
    public static func pathOutsideRoot(_ path: String) -> RPCError {
        RPCError(code: ErrorCode.pathOutsideRoot, message: "path \"\(path)\" resolves outside the workspace root")
    }
}

/// A request id: JSON-RPC allows a number or a string (null ids are refused as invalid).
public enum RequestID: Hashable, Sendable, CustomStringConvertible {
    case number(Int)
    case string(String)

    /// The id as JSON; nil for JSON values that are not valid ids (null, fractions, objects...).
    public init?(json: JSONValue) {
        switch json {
        case .number(let d):
            guard let i = Int(exactly: d) else { return nil }
            self = .number(i)
        case .string(let s): self = .string(s)
        default: return nil
        }
    }

    public var json: JSONValue {
        switch self {
        case .number(let i): return .number(Double(i))
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
