/// The server side of a connection: what the daemon implements on top of the transport.
///
/// The connection handles framing, the lifecycle rules (requests before `initialize`, after
/// `shutdown`), `$/cancelRequest`, `exit`, duplicate ids and scheduling; the handler only
/// answers methods. One handler may serve many connections at once (the socket server), so
/// it must be thread-safe.
public protocol RPCHandler: AnyObject, Sendable {
    /// Called on the reader thread before the request runs; decides how it may run beside
    /// others. Throw an RPCError (e.g. `.methodNotFound(method)`, `.invalidParams`) to answer
    /// at once without running it. Must be quick: the reader thread waits for it.
    func access(for method: String, params: JSONValue?) throws -> Access

    /// `access`, plus whatever the handler made of the params to decide it (their typed
    /// decoding), handed to `handle` as `RequestContext.prepared` so params are decoded once.
    /// The default calls `access` and keeps nothing.
    func prepare(_ method: String, params: JSONValue?) throws -> PreparedRequest

    /// Runs the request: on a worker thread, or on the reader thread for `.immediate`.
    /// Returns the result or throws an RPCError; any other error becomes `internalError` with
    /// its description. `initialize` is always run `.immediate`, before anything else.
    func handle(_ context: RequestContext) throws -> JSONValue

    /// Notifications other than `$/cancelRequest` and `exit` (which the connection handles),
    /// e.g. `initialized`. Runs on the reader thread: return quickly.
    func notification(method: String, params: JSONValue?)

    /// The connection with this `Connection.id` has ended (after its last reply): drop any
    /// per-client state kept for it.
    func connectionClosed(_ connection: Int)
}

/// What the reader thread learnt of a request before scheduling it: how it may run, and the
/// handler's own decoding of its params (opaque to the transport).
public struct PreparedRequest: @unchecked Sendable {
    public var access: Access
    public var decoded: Any?
    public init(access: Access, decoded: Any? = nil) { self.access = access; self.decoded = decoded }
}

extension RPCHandler {
    public func prepare(_ method: String, params: JSONValue?) throws -> PreparedRequest {
        PreparedRequest(access: try access(for: method, params: params))
    }
    public func notification(method: String, params: JSONValue?) {}
    public func connectionClosed(_ connection: Int) {}
}
