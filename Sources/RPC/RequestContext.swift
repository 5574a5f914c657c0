import Foundation

/// What a handler gets with each request: its id and params, its cancellation token, and a
/// way to talk to the client while it runs (progress, notifications).
///
/// Progress follows LSP's work-done progress: it is sent only when the request's params carry
/// `workDoneToken`, so handlers call the progress methods unconditionally. Reports are limited
/// to one per `progressInterval` (default 50 ms), except one at 100 %, so a tight loop cannot
/// flood the client. If a handler began progress and returns without ending it, the connection
/// sends the end before the reply. Nothing is sent once the reply has gone.
public final class RequestContext: @unchecked Sendable {
    public let id: RequestID
    /// The connection the request came on (`Connection.id`): per-client state such as the
    /// workspace root set by that client's `initialize` hangs on it.
    public let connection: Int
    public let method: String
    public let params: JSONValue?
    /// The handler's decoding of `params` from `RPCHandler.prepare`, when it made one.
    public let prepared: Any?
    public let cancellation: CancellationToken
    /// From `params.workDoneToken` when present; progress calls are no-ops without it.
    public let workDoneToken: JSONValue?

    /// Where notifications go (the connection's writer); nil drops them.
    private let send: (@Sendable (_ method: String, _ params: JSONValue?) -> Void)?
    private let progressInterval: Double
    private let lock = NSLock()
    private var begun = false
    private var ended = false
    private var finished = false
    private var lastReport = 0.0
    private var afterReply: [() -> Void] = []

    /// A context for calling a handler directly (tests, in-process use). `send` receives the
    /// notifications the handler emits.
    public init(id: RequestID = .number(0), connection: Int = 0, method: String, params: JSONValue?, prepared: Any? = nil,
                cancellation: CancellationToken = CancellationToken(), progressInterval: Double = 0.05,
                send: (@Sendable (_ method: String, _ params: JSONValue?) -> Void)? = nil) {
        self.id = id
        self.connection = connection
        self.method = method
        self.params = params
        self.prepared = prepared
        self.cancellation = cancellation
        self.progressInterval = progressInterval
        self.send = send
        if let t = params?["workDoneToken"], t.stringValue != nil || t.intValue != nil {
            workDoneToken = t
        } else {
            workDoneToken = nil
        }
    }

    public var isCancelled: Bool { cancellation.isCancelled }

    /// Decodes the params (absent params read as `{}`), naming fields in errors as `params.x`.
    public func decodeParams<T: Decodable>(_ type: T.Type = T.self) throws -> T {
        try JSONValueCoding.decode(type, from: params ?? .object(JSONObject()), path: "params")
    }

    public func progressBegin(title: String, message: String? = nil, percentage: Int? = nil, cancellable: Bool = true) {
        var value: JSONObject = ["kind": "begin", "title": .string(title), "cancellable": .bool(cancellable)]
        if let message { value["message"] = .string(message) }
        if let percentage { value["percentage"] = JSONValue(percentage) }
        guard claim({ !begun && !ended }, then: { begun = true; lastReport = now() }) else { return }
        sendProgress(value)
    }

    public func progressReport(message: String? = nil, percentage: Int? = nil) {
        let final = percentage.map { $0 >= 100 } ?? false
        guard claim({ begun && !ended && (final || now() - lastReport >= progressInterval) }, then: { lastReport = now() }) else { return }
        var value: JSONObject = ["kind": "report"]
        if let message { value["message"] = .string(message) }
        if let percentage { value["percentage"] = JSONValue(percentage) }
        sendProgress(value)
    }

    public func progressEnd(message: String? = nil) {
        guard claim({ begun && !ended }, then: { ended = true }) else { return }
        var value: JSONObject = ["kind": "end"]
        if let message { value["message"] = .string(message) }
        sendProgress(value)
    }

    /// Sends a notification to the client, e.g. `window/logMessage {type, message}`.
    public func notify(method: String, params: JSONValue?) {
        guard claim({ true }, then: {}) else { return }
        send?(method, params)
    }

    /// Called by the connection just before the reply: ends open progress, then mutes the context.
    /// Runs `body` when the request's reply (result or error, partial data included) is built
    /// and about to be handed to the connection's output — not before, and not at all when no
    /// reply goes out: for state that should outlive the process only if a client heard of it
    /// (a kept result the reply names). The window left between `body` and the write is the
    /// write itself.
    public func onReplying(_ body: @escaping () -> Void) {
        lock.lock(); afterReply.append(body); lock.unlock()
    }

    /// Called by the connection just before the reply is handed to the output.
    func replying() {
        lock.lock(); let run = afterReply; afterReply = []; lock.unlock()
        run.forEach { $0() }
    }

    func finish() {
        if claim({ begun && !ended }, then: { ended = true }) { sendProgress(["kind": "end"]) }
        lock.lock(); finished = true; lock.unlock()
    }

    private func sendProgress(_ value: JSONObject) {
        guard let token = workDoneToken else { return }
        send?("$/progress", ["token": token, "value": .object(value)])
    }

    /// Atomically: if not finished and `condition` holds, run `update` and return true.
    private func claim(_ condition: () -> Bool, then update: () -> Void) -> Bool {
        guard send != nil else { return false }
        lock.lock(); defer { lock.unlock() }
        guard !finished, condition() else { return false }
        update()
        return true
    }

    private func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
}
