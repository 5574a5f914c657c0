import Foundation

/// The one writer of the protocol fd: whole frames only, under one lock.
///
/// Any thread that finishes a request writes its reply here, so frames must never interleave:
/// each `send` frames the body and writes it in full while holding the lock. The reader
/// thread may `hold` output while it works through one read() worth of input, so a burst of
/// pipelined cheap requests is answered with one write instead of one per reply; it flushes
/// before it blocks again, so latency is unchanged. When a write fails (EPIPE: the peer is
/// gone) the channel turns `broken`, later sends are dropped, and `onBroken` runs once.
final class OutputChannel: @unchecked Sendable {
    let fd: Int32
    private let lock = NSLock()
    private var framing: Framing = .newlineDelimited
    private var framingKnown = false
    private var held: [UInt8] = []
    private var holding = false
    private var muted = false
    private(set) var broken = false
    var onBroken: (() -> Void)?

    init(fd: Int32) { self.fd = fd }

    /// Set by the reader once the client's framing is known; replies mirror it.
    func setFraming(_ f: Framing) {
        lock.lock(); framing = f; framingKnown = true; lock.unlock()
    }

    /// The framing replies use; nil until the client's first byte decided it.
    var currentFraming: Framing? {
        lock.lock(); defer { lock.unlock() }
        return framingKnown ? framing : nil
    }

    /// Drops everything from now on (after `exit`, or once the peer vanished).
    func mute() {
        lock.lock(); muted = true; held = []; lock.unlock()
    }

    /// Frames and writes one message body; false when dropped (muted or broken).
    @discardableResult
    func send(_ body: [UInt8]) -> Bool {
        lock.lock()
        guard !muted && !broken else { lock.unlock(); return false }
        if holding {
            framing.appendFrame(body, to: &held)
            if held.count >= 1 << 16 { writeHeld() }
            lock.unlock()
            return true
        }
        var frame: [UInt8] = []
        frame.reserveCapacity(body.count + 32)
        framing.appendFrame(body, to: &frame)
        let ok = FDIO.writeAll(fd, frame)
        let callback = ok ? nil : markBroken()
        lock.unlock()
        callback?()
        return ok
    }

    /// Starts collecting writes (reader thread, at the start of a chunk of input).
    func hold() {
        lock.lock(); holding = true; lock.unlock()
    }

    /// Writes what was collected and stops collecting.
    func flush() {
        lock.lock()
        holding = false
        writeHeld()
        let callback = broken ? takeCallback() : nil
        lock.unlock()
        callback?()
    }

    /// With the lock held.
    private func writeHeld() {
        guard !held.isEmpty else { return }
        if !muted && !broken && !FDIO.writeAll(fd, held) { _ = markBroken() }
        held.removeAll(keepingCapacity: held.capacity <= 1 << 20)
    }

    /// With the lock held; returns the callback to run after unlocking.
    private func markBroken() -> (() -> Void)? {
        broken = true
        held = []
        Log.debug("output fd \(fd) is closed (\(String(cString: strerror(errno))))")
        return takeCallback()
    }

    private func takeCallback() -> (() -> Void)? {
        let c = onBroken
        onBroken = nil
        return c
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
