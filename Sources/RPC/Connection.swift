import Foundation

/// Settings of one connection (or of every client of a socket server).
public struct ConnectionOptions: Sendable {
    /// Largest message body accepted; larger ones are skipped with a -32600 reply.
    public var maxMessageBytes = JSONText.defaultMaxBytes
    /// Deepest nesting of arrays and objects accepted in a message.
    public var maxDepth = JSONText.defaultMaxDepth
    /// Most requests in one batch; a longer batch is refused whole (-32600) before it is parsed,
    /// so a small message cannot hold millions of requests' worth of memory.
    public var maxBatchLength = 1000
    /// Worker threads running non-immediate requests.
    public var workers = max(2, ProcessInfo.processInfo.activeProcessorCount)
    /// When set, `run()` sets the global `Log.level` to it.
    public var logLevel: Log.Level? = nil
    /// After `exit` or a vanished peer, how long `run()` waits for cancelled work to stop; when
    /// the daemon stops (SIGTERM), how long running requests get to finish before they are
    /// cancelled, and then again for their partial results to be answered.
    public var drainTimeout: Double = 5
    /// Minimum spacing of `$/progress` reports of one request.
    public var progressInterval: Double = 0.05
    /// Names the connection in log lines ("stdio", "client 3").
    public var name = "stdio"
    /// Most reply bytes waiting for a client that does not read: a reply arriving while this
    /// many are still unsent closes the connection (its requests are cancelled). One reply
    /// onto a shorter queue is always accepted, however large.
    public var maxQueuedOutputBytes = 64 << 20
    /// Seconds a client may leave replies waiting without reading a byte of them before its
    /// connection is closed (its requests cancelled).
    public var outputStallTimeout: Double = 30
    /// Socket server: most clients connected at once; one more gets a single error
    /// (`connectionLimitCode`, "too many connections") and is closed.
    public var maxConnections = 256
    /// The error code of that refusal (the server's own block; AdvLens: -32011, resource limit).
    public var connectionLimitCode = -32000

    public init() {}
}

/// Serves one peer over two file descriptors (stdin/stdout, or one socket twice).
///
/// Threading: `run()`'s thread is the reader. It reads, frames, parses and classifies each
/// message, applies the lifecycle rules, answers `.immediate` requests itself, handles
/// `$/cancelRequest` and `exit` at once, and queues everything else on the scheduler's
/// workers. Replies are written by whichever thread finishes, through `OutputChannel`.
/// The in-flight table (`pending`, guarded by `table`) is the only state shared between the
/// reader and the workers; lifecycle state belongs to the reader alone.
///
/// Ending: on `exit` without `shutdown`, or when the peer vanishes (input at EOF and the
/// output closed, or a write failing), in-flight requests are cancelled, their replies
/// dropped, and `run()` waits at most `drainTimeout` for them to stop. `shutdown` is answered
/// only after every earlier request; after it, `exit` (like EOF with the output still open, as
/// in a shell pipeline whose writer finished) lets in-flight requests finish and be answered.
/// `run()` returns 0 if `shutdown` was received before the end, else 1, as LSP prescribes.
public final class Connection: @unchecked Sendable {
    /// Unique in this process: tells the handler which client a request came from.
    public let id: Int
    public let input: Int32
    public let output: Int32
    public let options: ConnectionOptions
    let handler: RPCHandler
    let out: OutputChannel
    let scheduler: Scheduler
    private let ownsScheduler: Bool

    enum Lifecycle { case uninitialized, initialized, shutDown }

    // Reader thread only.
    var decoder: FrameDecoder
    var lifecycle = Lifecycle.uninitialized
    var exitReceived = false
    var stopReading = false
    var framingKnown = false
    /// Whether the message the reader thread is dispatching is large (reader thread only).
    var currentMessageIsLarge = false

    // Guarded by `table`.
    let table = NSCondition()
    var pending: [RequestID: Pending] = [:]
    /// Requests registered and not yet answered (or dropped). `pending` loses an entry just
    /// before its reply is written, so the client may reuse the id at once; this count drops
    /// just after, so `run()` never returns while a worker still writes to the fd.
    var unfinished = 0
    var closing = false

    public convenience init(input: Int32, output: Int32, handler: RPCHandler, options: ConnectionOptions = ConnectionOptions()) {
        self.init(input: input, output: output, handler: handler, options: options, scheduler: nil)
    }

    /// `scheduler`: shared by the socket server's clients; nil makes one for this connection.
    init(input: Int32, output: Int32, handler: RPCHandler, options: ConnectionOptions, scheduler: Scheduler?) {
        self.id = Connection.nextID()
        self.input = input
        self.output = output
        self.handler = handler
        self.options = options
        self.out = OutputChannel(fd: output, maxQueuedBytes: options.maxQueuedOutputBytes, stallTimeout: options.outputStallTimeout)
        self.out.name = options.name
        self.decoder = FrameDecoder(maxMessageBytes: options.maxMessageBytes)
        self.ownsScheduler = scheduler == nil
        self.scheduler = scheduler ?? Scheduler(workers: options.workers)
    }

    private static let counterLock = NSLock()
    nonisolated(unsafe) private static var counter = 0
    private static func nextID() -> Int {
        counterLock.lock()
        defer { counterLock.unlock() }
        counter += 1
        return counter
    }

    /// The framing the client chose (nil until its first byte arrived). Any thread.
    public var framing: Framing? { out.currentFraming }

    /// Blocks until the peer sends `exit` or closes its end; returns the exit code.
    public func run() -> Int32 {
        begin()
        readLoop(blocking: true)
        return end()
    }

    /// Before the first read.
    func begin() {
        _ = FDIO.ignoreSIGPIPE
        if let l = options.logLevel { Log.level = l }
        out.onBroken = { [weak self] failure in self?.outputBroke(failure) }
        Log.debug("\(options.name): connection open")
    }

    /// The socket server's reader, run on a short-lived thread when the (idle) socket became
    /// readable: handles everything readable now without blocking; false once reading is over
    /// (then call `end()`), true when the socket should be watched again.
    func pump() -> Bool {
        readLoop(blocking: false)
    }

    /// After reading stopped: settles in-flight work, writes what is queued; the exit code.
    func end() -> Int32 {
        let code = finish()
        out.waitUntilWritten()
        handler.connectionClosed(id)
        if ownsScheduler { scheduler.stop() }
        Log.debug("\(options.name): connection closed, exit code \(code)")
        return code
    }

    /// Reads until the input ends (or `stopReading`); with `blocking` false, also returns
    /// true as soon as a read would block, leaving the connection open.
    @discardableResult
    private func readLoop(blocking: Bool) -> Bool {
        let size = 64 * 1024
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 16)
        defer { buffer.deallocate() }
        while !stopReading {
            let n: Int
            if blocking {
                n = FDIO.read(input, buffer)
            } else {
                n = FDIO.readNow(input, buffer)
                if n == -2 { return true }       // nothing more for now
            }
            if n <= 0 {
                if n < 0 { Log.warning("\(options.name): read failed: \(String(cString: strerror(errno)))") }
                break
            }
            decoder.push(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            out.hold()
            while !stopReading, let event = decoder.next() { handle(event) }
            decoder.releaseIfIdle()
            out.flush()
            if out.broken {
                // Nobody can receive replies any more: stop taking work (finish() cancels the rest).
                Log.info("\(options.name): output closed by the peer; stopping")
                return false
            }
        }
        if !stopReading {
            out.hold()
            if let event = decoder.finish() { handle(event) }
            out.flush()
            if decoder.hasPartialFrame {
                Log.warning("\(options.name): input ended inside a frame (\(decoder.pendingBytes) bytes dropped)")
            }
        }
        return false
    }

    /// After reading stopped: settle in-flight work, then the exit code.
    ///
    /// `exit` without `shutdown` is abrupt: in-flight work is cancelled. After `shutdown` (which
    /// already waits for earlier requests), and at EOF or a fatal framing error, in-flight
    /// requests are answered while anyone listens.
    private func finish() -> Int32 {
        if exitReceived && lifecycle != .shutDown {
            abandonInFlight(reason: "exit received without shutdown")
        } else {
            table.lock()
            while unfinished > 0 && !closing {
                _ = table.wait(until: Date(timeIntervalSinceNow: 0.05))
                if !closing && (out.broken || FDIO.isBroken(output)) {
                    table.unlock()
                    abandonInFlight(reason: "the peer closed its end")
                    table.lock()
                }
            }
            table.unlock()
        }
        table.lock()
        let deadline = Date(timeIntervalSinceNow: options.drainTimeout)
        while unfinished > 0 && table.wait(until: deadline) {}
        let stuck = unfinished
        table.unlock()
        if stuck > 0 {
            Log.warning("\(options.name): \(stuck) cancelled request(s) still running after \(options.drainTimeout) s; giving up on them")
        }
        return lifecycle == .shutDown ? 0 : 1
    }

    /// The output broke (any thread, once): a vanished peer, or one that stopped reading, whose
    /// connection is closed so it holds nothing (replies, requests, a socket) any longer.
    func outputBroke(_ failure: OutputChannel.Failure) {
        switch failure {
        case .closed:
            abandonInFlight(reason: "the peer closed its end")
        case .overflow(let why):
            Log.warning("\(options.name): \(why); closing the connection")
            abandonInFlight(reason: "closing a client that does not read")
            // Ends the reader's read() on a socket (and the client sees end of stream); on a
            // pipe the reader stops at its next input.
            shutdown(input, Int32(SHUT_RDWR))
        }
    }

    /// A stopping daemon's goodbye on stdio: in-flight requests get `grace` seconds to finish,
    /// then are cancelled with `reason` (answered with their partial results) and get `grace`
    /// more; then the replies are written (any thread; reading is left as it is).
    public func drain(grace: Double, reason: String) {
        table.lock()
        var deadline = Date(timeIntervalSinceNow: grace)
        while unfinished > 0 && table.wait(until: deadline) {}
        let busy = unfinished > 0
        table.unlock()
        if busy {
            cancelInFlight(reason: reason)
            table.lock()
            deadline = Date(timeIntervalSinceNow: grace)
            while unfinished > 0 && table.wait(until: deadline) {}
            if unfinished > 0 { Log.warning("\(options.name): \(unfinished) cancelled request(s) still running after \(grace) s; leaving without their replies") }
            table.unlock()
        }
        out.waitUntilWritten()
    }

    /// Cancels every in-flight request, keeping the connection open so their replies (-32800,
    /// with the partial results of the methods that have them, and `reason` in the message)
    /// reach the client: how a stopping server drains (any thread).
    public func cancelInFlight(reason: String) {
        table.lock()
        let all = Array(pending.values)
        table.unlock()
        if !all.isEmpty { Log.info("\(options.name): \(reason); cancelling \(all.count) request(s), answering with their partial results") }
        for p in all {
            p.context.cancellation.cancel(reason: reason)
            if let job = p.job, scheduler.removeIfQueued(job) { complete(p, .failure(.cancelled())) }
        }
    }

    /// Cancels every in-flight request and drops their replies (any thread, idempotent).
    func abandonInFlight(reason: String) {
        table.lock()
        guard !closing else { table.unlock(); return }
        closing = true
        let all = Array(pending.values)
        table.unlock()
        out.mute()
        if !all.isEmpty { Log.info("\(options.name): \(reason); cancelling \(all.count) request(s)") }
        for p in all {
            p.context.cancellation.cancel()
            if let job = p.job, scheduler.removeIfQueued(job) { complete(p, .failure(.cancelled())) }
        }
    }
}

/// A request registered in the in-flight table.
final class Pending: @unchecked Sendable {
    let context: RequestContext
    let sink: ReplySink
    let started: UInt64
    var job: Job?
    /// Its message was large: memory goes back to the system once it is answered.
    var large = false

    init(context: RequestContext, sink: ReplySink) {
        self.context = context
        self.sink = sink
        self.started = DispatchTime.now().uptimeNanoseconds
    }
}
