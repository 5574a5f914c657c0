import Data
import Files
import NN
import ONNX
import RPC
import Protocol
import SafeTensors
import Settings
import Store

/// The server's errors as JSON-RPC errors (codes in protocol/errors.md), and the mapping of
/// engine errors to them: every message names the field, layer, key or file at fault.
enum ServerError {
    static func invalidParams(_ message: String) -> RPCError { RPCError(code: ErrorCode.invalidParams, message: message) }
    static func notFound(_ message: String) -> RPCError { RPCError(code: AdvLensErrorCode.notFound, message: message) }
    static func shapeMismatch(_ message: String) -> RPCError { RPCError(code: AdvLensErrorCode.shapeMismatch, message: message) }
    static func resourceLimit(_ message: String) -> RPCError { RPCError(code: AdvLensErrorCode.resourceLimit, message: message) }
    static func io(_ message: String) -> RPCError { RPCError(code: AdvLensErrorCode.ioError, message: message) }
    static func outsideRoot(_ message: String) -> RPCError { RPCError(code: AdvLensErrorCode.pathOutsideRoot, message: message) }

    /// Any error a handler meets, as the RPC error to answer with. `context` prefixes the
    /// message (e.g. the file being read).
    static func from(_ error: Error, context: String? = nil) -> RPCError {
        func prefixed(_ s: String) -> String { context.map { "\($0): \(s)" } ?? s }
        switch error {
        case let e as RPCError:
            return e
        case let e as SettingsError:
            return invalidParams(prefixed("params.\(e.description)"))
        case let e as ModelError:
            switch e {
            case .inputShape, .shapeMismatch: return shapeMismatch(prefixed(e.description))
            case .unknownLayer: return notFound(prefixed(e.description))
            case .io: return io(prefixed(e.description))
            case .invalidSpec, .missingWeight, .unexpectedWeight, .weightShape, .weightsTooSmall: return invalidParams(prefixed(e.description))
            }
        case let e as ONNXError:
            return invalidParams(prefixed(e.description))
        case let e as DataError:
            if case .io = e { return io(prefixed(e.description)) }
            return invalidParams(prefixed(e.description))
        case let e as SafeTensorsError:
            return io(prefixed(e.description))
        case let e as FileReadError:
            switch e {
            case .cancelled: return RPCError.cancelled()
            case .notRegularFile: return invalidParams(prefixed(e.description))
            case .tooLarge: return resourceLimit(prefixed(e.description))
            case .outsideRoot: return outsideRoot(prefixed(e.description))
            case .io: return io(prefixed(e.description))
            }
        case let e as StoreError:
            if case .overCap = e { return resourceLimit(prefixed(e.description)) }
            return io(prefixed("cache database: \(e.description)"))
        default:
            if let e = StoreError.wrapping(error) { return io(prefixed("cache database: \(e.description)")) }
            return RPCError(code: ErrorCode.internalError, message: prefixed("\(error)"))
        }
    }
}
