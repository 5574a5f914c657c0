import Foundation

/// The one writer of the protocol fd: whole frames only, through a bounded queue that never
/// blocks the thread that sends.
///
/// Any thread that finishes a request hands its reply here, so frames must never interleave:
/// `send` frames the body onto the connection's queue under one lock and writes what the fd
/// takes at once without blocking (`FDIO.writeSome`); what it does not take waits for this
/// connection's own writer thread, started only while bytes are waiting, which polls the fd.
/// So a client that stops reading holds up nobody but itself: workers and other connections
/// carry on. Its queue is bounded: a reply arriving while `maxQueuedBytes` are already
/// unsent, or a queue that makes no progress for `stallTimeout` seconds, breaks the channel
/// (an overflow): the queue is dropped, later sends are dropped, and `onBroken` runs once with
/// the reason, as it does when a write fails (EPIPE: the peer is gone).
///
/// The reader thread may `hold` output while it works through one read() worth of input, so a
/// burst of pipelined cheap requests is answered with one write instead of one per reply; it
/// flushes before it blocks again, so latency is unchanged.
final class OutputChannel: @unchecked Sendable {
    /// Why the channel broke.
    enum Failure {
        /// A write failed: nobody reads any more.
        case closed(String)
        /// The peer does not read fast enough: too many bytes waiting, or none moving for too long.
        case overflow(String)
    }

    let fd: Int32
    let kind: FDIO.WriteKind
    let maxQueuedBytes: Int
    let stallTimeout: Double
    /// Names the connection in log lines and the writer thread.
    var name = "output"
    private let lock = NSCondition()
    private var framing: Framing = .newlineDelimited
    private var framingKnown = false
    /// Frames not yet written are `queue[sent...]`.
    private var queue: [UInt8] = []
    private var sent = 0
    private var holding = false
    private var muted = false
    private var writerRunning = false
    /// When bytes last moved (or the queue last became non-empty), in uptime nanoseconds.
    private var lastProgress: UInt64 = 0
    private(set) var broken = false
    var onBroken: ((Failure) -> Void)?

    init(fd: Int32, maxQueuedBytes: Int = 64 << 20, stallTimeout: Double = 30) {
        self.fd = fd
        self.kind = FDIO.WriteKind(fd: fd)
        self.maxQueuedBytes = maxQueuedBytes
        self.stallTimeout = stallTimeout
    }

    /// Set by the reader once the client's framing is known; replies mirror it.
    func setFraming(_ f: Framing) {
        lock.lock(); framing = f; framingKnown = true; lock.unlock()
    }

    /// The framing replies use; nil until the client's first byte decided it.
    var currentFraming: Framing? {
        lock.lock(); defer { lock.unlock() }
        return framingKnown ? framing : nil
    }

    /// Bytes waiting to be written.
    var queuedBytes: Int {
        lock.lock(); defer { lock.unlock() }
        return queue.count - sent
    }

    /// Drops everything from now on (after `exit`, or once the peer vanished).
    func mute() {
        lock.lock(); muted = true; dropQueue(); lock.broadcast(); lock.unlock()
    }

    /// Frames and queues one message body and writes what the fd takes now; false when
    /// dropped (muted, broken, or the queue overflowed). Never blocks on the peer.
    @discardableResult
    func send(_ body: [UInt8]) -> Bool {
        lock.lock()
        guard !muted && !broken else { lock.unlock(); return false }
        let waiting = queue.count - sent
        if waiting >= maxQueuedBytes {
            let callback = markBroken(.overflow("\(waiting) bytes of replies unsent (the limit is \(maxQueuedBytes)): the client is not reading"))
            lock.unlock()
            callback?.run()
            return false
        }
        if waiting == 0 { lastProgress = DispatchTime.now().uptimeNanoseconds }
        framing.appendFrame(body, to: &queue)
        if !holding || queue.count - sent >= 1 << 16 { writeAvailable() }
        let ok = !broken
        let callback = broken ? takeCallback() : nil
        lock.unlock()
        callback?.run()
        return ok
    }

    /// Starts collecting writes (reader thread, at the start of a chunk of input).
    func hold() {
        lock.lock(); holding = true; lock.unlock()
    }

    /// Writes what was collected (as far as the fd takes it) and stops collecting.
    func flush() {
        lock.lock()
        holding = false
        writeAvailable()
        let callback = broken ? takeCallback() : nil
        lock.unlock()
        callback?.run()
    }

    /// Waits until every queued byte is written, the channel broke or was muted (bounded:
    /// a queue that stops moving breaks after `stallTimeout`). Before the fd is closed.
    func waitUntilWritten() {
        lock.lock()
        while queue.count > sent && !broken && !muted { lock.wait() }
        lock.unlock()
    }

    /// With the lock held: writes what the fd takes without blocking; leaves the rest to the
    /// writer thread, starting it if needed.
    private func writeAvailable() {
        while sent < queue.count && !broken && !muted {
            let n = queue.withUnsafeBytes { FDIO.writeSome(fd, kind, UnsafeRawBufferPointer(rebasing: $0[sent...])) }
            if n < 0 {
                _ = markBroken(.closed(String(cString: strerror(errno))))
                return
            }
            if n == 0 { break }
            sent += n
            lastProgress = DispatchTime.now().uptimeNanoseconds
        }
        if sent == queue.count {
            queue.removeAll(keepingCapacity: queue.capacity <= 1 << 20)
            sent = 0
            lock.broadcast()
        } else {
            if sent >= 1 << 20 && sent * 2 >= queue.count {
                queue.removeSubrange(0..<sent)
                sent = 0
            }
            if !writerRunning && !broken && !muted { startWriter() }
        }
    }

    /// The connection's writer: runs while bytes wait, polling the fd, then ends.
    private func startWriter() {
        writerRunning = true
        let t = Thread { [self] in
            lock.lock()
            while queue.count > sent && !broken && !muted {
                let idle = Double(DispatchTime.now().uptimeNanoseconds - lastProgress) / 1e9
                if idle >= stallTimeout {
                    let callback = markBroken(.overflow("no reply bytes written for \(Self.seconds(stallTimeout)) s with \(queue.count - sent) waiting: the client is not reading"))
                    writerRunning = false
                    lock.unlock()
                    callback?.run()
                    return
                }
                lock.unlock()
                FDIO.waitWritable(fd, seconds: min(stallTimeout - idle, 1))
                lock.lock()
                writeAvailable()
            }
            writerRunning = false
            let callback = broken ? takeCallback() : nil
            lock.unlock()
            callback?.run()
        }
        t.name = "\(name)-writer"
        t.stackSize = 1 << 18
        t.start()
    }

    private func dropQueue() {
        queue = []
        sent = 0
    }

    /// With the lock held; returns the callback to run after unlocking.
    private func markBroken(_ failure: Failure) -> PendingCallback? {
        guard !broken else { return nil }
        broken = true
        dropQueue()
        lock.broadcast()
        if case .closed(let why) = failure { Log.debug("\(name): output fd \(fd) is closed (\(why))") }
        brokenBy = failure
        return takeCallback()
    }

    private var brokenBy: Failure = .closed("")

    /// The `onBroken` call to make once the lock is released (at most one ever).
    struct PendingCallback {
        let callback: (Failure) -> Void
        let failure: Failure
        func run() { callback(failure) }
    }

    private func takeCallback() -> PendingCallback? {
        guard let c = onBroken else { return nil }
        onBroken = nil
        return PendingCallback(callback: c, failure: brokenBy)
    }

    static func seconds(_ s: Double) -> String {
        s == s.rounded() ? String(Int(s)) : String(s)
    }
}

/// Where a request's reply goes: straight out, or into its batch's array.
enum ReplySink {
    case direct
    case batch(BatchCollector, Int)
}

/// Collects the replies of one batch and sends them as one array when the last arrives.
///
/// JSON-RPC answers a batch with an array of the responses to its requests (notifications get
/// none) and sends nothing if there are none. Elements may finish in any order and on any
/// thread; `pending` starts at the element count plus one, released after dispatch, so the
/// array is not sent before every element was dispatched.
final class BatchCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var replies: [[UInt8]?]
    private var pending: Int
    private let out: OutputChannel

    init(count: Int, out: OutputChannel) {
        replies = Array(repeating: nil, count: count)
        pending = count + 1
        self.out = out
    }

    /// Records element `index`'s reply (nil for a notification or a dropped reply).
    func deliver(_ index: Int, _ body: [UInt8]?) {
        lock.lock()
        if let body { replies[index] = body }
        pending -= 1
        let done = pending == 0
        lock.unlock()
        if done { sendArray() }
    }

    /// Called once after every element was dispatched.
    func dispatched() { deliver(-1, nil) }

    private func sendArray() {
        let parts = replies.compactMap { $0 }
        guard !parts.isEmpty else { return }
        var body: [UInt8] = [UInt8(ascii: "[")]
        body.reserveCapacity(parts.reduce(2) { $0 + $1.count + 1 })
        for (k, p) in parts.enumerated() {
            if k > 0 { body.append(UInt8(ascii: ",")) }
            body.append(contentsOf: p)
        }
        body.append(UInt8(ascii: "]"))
        out.send(body)
    }
}
