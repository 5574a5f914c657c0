import RPC

/// Why a command failed, and the exit status that says so.
///
/// The statuses are part of the interface scripts rely on: 1 the daemon answered with an
/// error (or a local step failed), 2 the command line is wrong, 3 no daemon could be reached
/// or started, 130 interrupted (Ctrl-C).
enum ClientError: Error {
    /// The daemon answered the request with a JSON-RPC error.
    case server(RPCError)
    /// The command line is wrong.
    case usage(String)
    /// No daemon answers, one could not be started, or the connection broke.
    case unreachable(String)
    /// A local step failed (reading a params file, ...).
    case failed(String)
    /// Ctrl-C: the request was cancelled.
    case interrupted
    /// Ctrl-C, and the daemon still answered with something worth printing: the partial result
    /// of a cancelled request (`error.data` of its -32800), or the full result of a request
    /// that finished before it saw the cancel. `reason` is set when the daemon cancelled it
    /// itself (its -32800 message, e.g. "request cancelled: the daemon is stopping").
    case cancelled(partial: JSONValue, reason: String?)
    /// The daemon cancelled the request itself (it is stopping); the partial result was printed.
    case cancelledByDaemon(String)

    var exitStatus: Int32 {
        switch self {
        case .server, .failed, .cancelledByDaemon: return 1
        case .usage: return 2
        case .unreachable: return 3
        case .interrupted, .cancelled: return 130
        }
    }

    /// The line printed on stderr (nil: nothing to add).
    var message: String? {
        switch self {
        case .server(let e): return "advlens: \(e.message) (code \(e.code))"
        case .usage(let m), .unreachable(let m), .failed(let m): return "advlens: \(m)"
        case .cancelledByDaemon(let m): return "advlens: \(m) (partial result above)"
        case .interrupted, .cancelled: return "advlens: interrupted"
        }
    }
}
