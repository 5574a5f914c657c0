import Foundation
import RPC
#if canImport(Glibc)
import Glibc
#endif

/// The client end of one JSON-RPC connection: newline-delimited JSON (the RPC module's
/// `Framing.newlineDelimited` out, its `FrameDecoder` and `JSONText` in), one request at a
/// time, notifications handled while waiting.
final class RPCClient {
    private let input: Int32
    private let output: Int32
    private let ownsDescriptors: Bool
    private var decoder = FrameDecoder(maxMessageBytes: RPCClient.maxReplyBytes)
    private var nextID = 1
    private let tokenPrefix = "advlens-\(getpid())-"
    /// Shows `$/progress`; nil hides it.
    var progress: ProgressDisplay?

    static let maxReplyBytes = 1 << 30

    /// `input` is read, `output` written (the same socket fd, or the two ends of a child's pipes).
    init(input: Int32, output: Int32, ownsDescriptors: Bool = true) {
        self.input = input
        self.output = output
        self.ownsDescriptors = ownsDescriptors
    }

    deinit { close() }

    private var closed = false
    func close() {
        guard !closed else { return }
        closed = true
        guard ownsDescriptors else { return }
        Glibc.close(input)
        if output != input { Glibc.close(output) }
    }

    // MARK: sending

    func send(_ message: JSONValue) throws {
        let frame = Framing.newlineDelimited.frame(JSONText.serialize(message))
        let ok = frame.withUnsafeBytes { raw -> Bool in
            guard var p = raw.baseAddress else { return true }
            var left = raw.count
            while left > 0 {
                let n = Glibc.write(output, p, left)
                if n < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                p += n
                left -= n
            }
            return true
        }
        guard ok else { throw ClientError.unreachable("the connection to the daemon broke (\(String(cString: strerror(errno))))") }
    }

    func notify(_ method: String, _ params: JSONValue? = nil) throws {
        var message: JSONObject = ["jsonrpc": "2.0", "method": .string(method)]
        if let params { message["params"] = params }
        try send(.object(message))
    }

    // MARK: requests

    /// Sends a request and waits for its reply: the result, or `ClientError.server` with the
    /// daemon's error. With `workDone`, the params get a `workDoneToken` (when they are an
    /// object without one) so the daemon reports progress. With `interruptible`, Ctrl-C sends
    /// `$/cancelRequest` and the call ends with `.interrupted` once the reply is in (or after
    /// `cancelGrace` s, 2 by default; a second Ctrl-C leaves at once). A reply that carries
    /// something after the cancel (the partial result in a -32800's `error.data`, or a result
    /// that was complete before the cancel landed) ends the call with `.cancelled(partial:)`,
    /// as does a -32800 with a partial result that the daemon sent on its own (it is stopping).
    /// `timeout` bounds the wait (nil: none).
    func request(_ method: String, _ params: JSONValue? = nil, workDone: Bool = false, interruptible: Bool = false,
                 cancelGrace: Double = 2, timeout: Double? = nil) throws -> JSONValue {
        let id = nextID
        nextID += 1
        var params = params
        if workDone, case .object(var o)? = params, o["workDoneToken"] == nil {
            o["workDoneToken"] = .string(tokenPrefix + String(id))
            params = .object(o)
        }
        var message: JSONObject = ["jsonrpc": "2.0", "id": JSONValue(id), "method": .string(method)]
        if let params { message["params"] = params }
        try send(.object(message))

        let deadline = timeout.map { Date(timeIntervalSinceNow: $0) }
        var seen = Interrupt.count
        var cancelDeadline: Date?
        defer { progress?.finish() }
        while true {
            if interruptible && Interrupt.count != seen {
                seen = Interrupt.count
                if cancelDeadline != nil { throw ClientError.interrupted }
                progress?.finish()
                Output.error("advlens: cancelling \(method) (Ctrl-C again to leave at once)")
                try? notify("$/cancelRequest", ["id": JSONValue(id)])
                cancelDeadline = Date(timeIntervalSinceNow: cancelGrace)
            }
            if let c = cancelDeadline, Date() >= c { throw ClientError.interrupted }
            if let d = deadline, Date() >= d {
                throw ClientError.unreachable("no reply to \(method) within \(Int(timeout ?? 0)) s")
            }
            let reply: JSONValue?
            do {
                reply = try readMessage(waitMilliseconds: 100)
            } catch let error as ClientError {
                if cancelDeadline != nil { throw ClientError.interrupted }
                throw error
            }
            guard let reply else { continue }
            if let m = reply["method"]?.stringValue {
                handleNotification(m, reply["params"])
                continue
            }
            guard reply["id"]?.intValue == id else { continue }   // a late reply to something else
            if cancelDeadline != nil {
                if let e = reply["error"], e["code"]?.intValue == ErrorCode.requestCancelled, let data = e["data"], data != .null {
                    throw ClientError.cancelled(partial: data, reason: nil)
                }
                if reply["error"] == nil, let result = reply["result"] { throw ClientError.cancelled(partial: result, reason: nil) }
                throw ClientError.interrupted
            }
            // Cancelled by the daemon itself (it is stopping): the partial result is still worth printing.
            if let e = reply["error"], e["code"]?.intValue == ErrorCode.requestCancelled, let data = e["data"], data != .null {
                throw ClientError.cancelled(partial: data, reason: e["message"]?.stringValue ?? "request cancelled")
            }
            if let e = reply["error"] {
                throw ClientError.server(RPCError(code: e["code"]?.intValue ?? ErrorCode.internalError,
                                                  message: e["message"]?.stringValue ?? e.description, data: e["data"]))
            }
            return reply["result"] ?? .null
        }
    }

    private func handleNotification(_ method: String, _ params: JSONValue?) {
        switch method {
        case "$/progress":
            if let value = params?["value"] { progress?.handle(value) }
        case "window/logMessage", "window/showMessage":
            // LSP types: 1 error, 2 warning, 3 info, 4 log. Warnings and errors are worth a line.
            if let type = params?["type"]?.intValue, type <= 2, let text = params?["message"]?.stringValue {
                progress?.finish()
                Output.error("advlens: daemon \(type == 1 ? "error" : "warning"): \(text)")
            }
        default:
            break
        }
    }

    // MARK: reading

    /// The next message, or nil when none arrived within the wait (or a signal came).
    private func readMessage(waitMilliseconds: Int32) throws -> JSONValue? {
        while true {
            if let event = decoder.next() {
                switch event {
                case .message(let body):
                    do {
                        return try JSONText.parse(body, maxBytes: RPCClient.maxReplyBytes)
                    } catch {
                        throw ClientError.failed("unreadable reply from the daemon: \(error)")
                    }
                case .garbage:
                    continue
                case .tooLarge(let n):
                    throw ClientError.failed("a reply of \(n) bytes is larger than this client accepts")
                case .fatal(let reason):
                    throw ClientError.unreachable("protocol error from the daemon: \(reason)")
                }
            }
            var pfd = pollfd(fd: input, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, waitMilliseconds)
            if ready == 0 || (ready < 0 && errno == EINTR) { return nil }
            if ready < 0 { throw ClientError.unreachable("poll: \(String(cString: strerror(errno)))") }
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            let n = chunk.withUnsafeMutableBytes { Glibc.read(input, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { return nil }
                throw ClientError.unreachable("the connection to the daemon broke (\(String(cString: strerror(errno))))")
            }
            if n == 0 {
                if case .message(let body)? = decoder.finish(), let last = try? JSONText.parse(body, maxBytes: RPCClient.maxReplyBytes) {
                    return last
                }
                throw ClientError.unreachable("the daemon closed the connection")
            }
            chunk.withUnsafeBytes { decoder.push(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
    }
}
