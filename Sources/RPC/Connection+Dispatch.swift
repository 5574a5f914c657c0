import Foundation

/// The reader thread's side: from a framing event to a reply, a queued job, or a state change.
extension Connection {
    func handle(_ event: FrameEvent) {
        if !framingKnown, let f = decoder.framing {
            out.setFraming(f)
            framingKnown = true
        }
        switch event {
        case .message(let bytes):
            handleMessage(bytes)
        case .garbage(let why):
            out.send(OutgoingMessage.error(id: nil, .parseError(why)))
        case .tooLarge(let n):
            out.send(OutgoingMessage.error(id: nil, .invalidRequest(
                "message too large: \(n) bytes exceeds the limit of \(options.maxMessageBytes); it was skipped")))
        case .fatal(let why):
            Log.warning("\(options.name): \(why); closing the connection")
            out.send(OutgoingMessage.error(id: nil, .parseError("\(why); closing the connection")))
            stopReading = true
        }
    }

    func handleMessage(_ bytes: ArraySlice<UInt8>) {
        currentMessageIsLarge = bytes.count >= MemoryTrimmer.threshold
        defer { if currentMessageIsLarge { MemoryTrimmer.soon() } }
        if let n = JSONText.batchLength(bytes, atMost: options.maxBatchLength), n > options.maxBatchLength {
            out.send(OutgoingMessage.error(id: nil, .invalidRequest(
                "batch of more than \(options.maxBatchLength) requests; send at most \(options.maxBatchLength) per batch")))
            return
        }
        let value: JSONValue
        do {
            // Integers exactly (request ids up to 2^63 - 1 come back as they were sent).
            value = try JSONText.parse(bytes, options: .init(maxDepth: options.maxDepth, maxBytes: options.maxMessageBytes, exactIntegers: true))
        } catch {
            let e = (error as? JSONError).map(RPCError.init) ?? error as? RPCError ?? .parseError("\(error)")
            Log.debug("\(options.name): \(e.message)")
            out.send(OutgoingMessage.error(id: JSONText.recoverID(bytes), e))
            return
        }
        guard case .array(let items) = value else {
            dispatch(IncomingMessage(value), sink: .direct)
            return
        }
        guard !items.isEmpty else {
            out.send(OutgoingMessage.error(id: nil, .invalidRequest("empty batch")))
            return
        }
        let batch = BatchCollector(count: items.count, out: out)
        for (k, item) in items.enumerated() where !stopReading {
            dispatch(IncomingMessage(item), sink: .batch(batch, k))
        }
        batch.dispatched()
    }

    func dispatch(_ message: IncomingMessage, sink: ReplySink) {
        switch message {
        case .invalid(let id, let error):
            reply(sink, OutgoingMessage.error(id: id, error))
        case .response(let id):
            Log.debug("\(options.name): ignoring a response (id \(id.map(String.init(describing:)) ?? "null")); this server sends no requests")
            reply(sink, nil)
        case .notification(let method, let params):
            handleNotification(method, params)
            reply(sink, nil)
        case .request(let id, let method, let params):
            handleRequest(id: id, method: method, params: params, sink: sink)
        }
    }

    /// Sends a reply decided on the reader thread (nil: nothing to send, but a batch slot to fill).
    func reply(_ sink: ReplySink, _ body: [UInt8]?) {
        switch sink {
        case .direct: if let body { out.send(body) }
        case .batch(let batch, let index): batch.deliver(index, body)
        }
    }

    func handleNotification(_ method: String, _ params: JSONValue?) {
        switch method {
        case "exit":
            exitReceived = true
            stopReading = true
        case "$/cancelRequest":
            guard let raw = params?["id"], let id = RequestID(json: raw) else {
                Log.debug("\(options.name): $/cancelRequest without a valid id")
                return
            }
            cancel(id)
        default:
            guard lifecycle == .initialized else {
                Log.debug("\(options.name): dropping notification \(method) (\(lifecycle == .uninitialized ? "before initialize" : "after shutdown"))")
                return
            }
            handler.notification(method: method, params: params)
        }
    }

    func handleRequest(id: RequestID, method: String, params: JSONValue?, sink: ReplySink) {
        switch (lifecycle, method) {
        case (.uninitialized, "initialize"): break
        case (.uninitialized, _): return reply(sink, OutgoingMessage.error(id: id, .serverNotInitialized()))
        case (_, "initialize"): return reply(sink, OutgoingMessage.error(id: id, .invalidRequest("initialize was already received")))
        case (.shutDown, _): return reply(sink, OutgoingMessage.error(id: id, .invalidRequest("server is shutting down")))
        default: break
        }
        table.lock()
        let duplicate = pending[id] != nil
        table.unlock()
        if duplicate {
            return reply(sink, OutgoingMessage.error(id: id, .invalidRequest("duplicate id \(id): a request with this id is still in flight")))
        }
        let prepared: PreparedRequest
        do {
            prepared = method == "initialize" ? PreparedRequest(access: .immediate) : try handler.prepare(method, params: params)
        } catch {
            return reply(sink, OutgoingMessage.error(id: id, error as? RPCError ?? .internalError("\(error)")))
        }
        let access = prepared.access
        let out = self.out
        let context = RequestContext(id: id, connection: self.id, method: method, params: params, prepared: prepared.decoded,
                                     progressInterval: options.progressInterval) { m, p in
            out.send(OutgoingMessage.notification(method: m, params: p))
        }
        Log.trace("\(options.name): -> \(method) id \(id) (\(access))")
        if method == "shutdown" {
            lifecycle = .shutDown
            table.lock()
            let busy = unfinished > 0
            table.unlock()
            if busy { return shutdownAfterInFlight(context, sink: sink) }
        }
        if access == .immediate {
            let outcome = invoke(context)
            context.finish()
            if method == "initialize", case .success = outcome { lifecycle = .initialized }
            let bytes = body(id, outcome)
            context.replying()
            return reply(sink, bytes)
        }
        let p = Pending(context: context, sink: sink)
        p.large = currentMessageIsLarge
        table.lock()
        pending[id] = p
        unfinished += 1
        table.unlock()
        let job = Job(locks: access.locks, label: method) { [self] in
            complete(p, p.context.isCancelled ? .failure(.cancelled()) : invoke(p.context))
        }
        p.job = job
        scheduler.submit(job)
    }

    /// `shutdown` is a barrier: it runs, and is answered, only after every request received
    /// before it has been answered, so a client (or a shell one-liner that writes shutdown and
    /// exit right behind its requests) gets all its replies first. It waits on its own thread,
    /// not a worker, so it cannot hold a worker that an earlier request needs.
    func shutdownAfterInFlight(_ context: RequestContext, sink: ReplySink) {
        let p = Pending(context: context, sink: sink)
        table.lock()
        pending[context.id] = p
        unfinished += 1
        table.unlock()
        let t = Thread { [self] in
            table.lock()
            while unfinished > 1 && !closing { table.wait() }
            let abandoned = closing
            table.unlock()
            complete(p, abandoned ? .failure(.cancelled()) : invoke(p.context))
        }
        t.name = "\(options.name)-shutdown"
        t.start()
    }

    /// `$/cancelRequest`: marks the token; a request still queued is answered -32800 at once.
    func cancel(_ id: RequestID) {
        table.lock()
        let p = pending[id]
        let job = p?.job
        table.unlock()
        guard let p else { return Log.debug("\(options.name): cancel for \(id), which is not in flight") }
        p.context.cancellation.cancel()
        if let job, scheduler.removeIfQueued(job) {
            complete(p, .failure(.cancelled()))
        }
    }

    /// Runs the handler, mapping what it throws to the error to send (reader thread for
    /// `.immediate`, a worker otherwise, the shutdown thread for a deferred shutdown).
    func invoke(_ context: RequestContext) -> Result<JSONValue, RPCError> {
        do {
            return .success(try handler.handle(context))
        } catch let e as RPCError {
            return .failure(e)
        } catch is CancellationError {
            return .failure(.cancelled())
        } catch {
            if context.isCancelled { return .failure(.cancelled()) }
            return .failure(.internalError("\(error)"))
        }
    }

    func body(_ id: RequestID, _ outcome: Result<JSONValue, RPCError>) -> [UInt8] {
        switch outcome {
        case .success(let v): return OutgoingMessage.result(id: id, v)
        case .failure(let e): return OutgoingMessage.error(id: id, e)
        }
    }

    /// Answers a registered request (any thread): leaves the table, replies, then counts it done.
    func complete(_ p: Pending, _ outcome: Result<JSONValue, RPCError>) {
        p.context.finish()
        let id = p.context.id
        table.lock()
        if pending[id] === p { pending[id] = nil }
        // The job's closure holds `p`: drop the job so the pair is freed (a retain cycle otherwise,
        // leaking every request).
        p.job = nil
        let drop = closing
        table.unlock()
        if Log.enabled(.trace) {
            let ms = Double(DispatchTime.now().uptimeNanoseconds - p.started) / 1e6
            Log.trace("\(options.name): <- id \(id) \(p.context.method) in \(String(format: "%.3f", ms)) ms\(drop ? " (dropped)" : "")")
        }
        var outcome = outcome
        if case .failure(var e) = outcome, e.code == ErrorCode.requestCancelled, let reason = p.context.cancellation.reason {
            e.message = "request cancelled: \(reason)"
            outcome = .failure(e)
        }
        let bytes = drop ? nil : body(id, outcome)
        if bytes != nil { p.context.replying() }
        switch p.sink {
        case .direct: if let bytes { out.send(bytes) }
        case .batch(let batch, let index): batch.deliver(index, bytes)
        }
        if p.large { MemoryTrimmer.soon() }
        table.lock()
        unfinished -= 1
        table.broadcast()
        table.unlock()
    }
}
