import Foundation
import XCTest
import RPC
#if canImport(Glibc)
import Glibc
#endif

/// The client end of a `Connection` served over two real pipes on a background thread.
///
/// Every wait has a timeout, so a bug shows as a failed assertion rather than a hung test.
final class TestPeer {
    let connection: Connection
    /// Client writes here (the server's input).
    private(set) var toServer: Int32
    /// Client reads here (the server's output).
    private(set) var fromServer: Int32
    private var decoder = FrameDecoder()
    private let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var code: Int32?
    let framing: Framing

    init(handler: RPCHandler, framing: Framing = .newlineDelimited, options: ConnectionOptions = TestPeer.defaultOptions) {
        var a: [Int32] = [0, 0], b: [Int32] = [0, 0]
        precondition(pipe(&a) == 0 && pipe(&b) == 0)
        toServer = a[1]
        fromServer = b[0]
        self.framing = framing
        let serverIn = a[0], serverOut = b[1]
        connection = Connection(input: serverIn, output: serverOut, handler: handler, options: options)
        let t = Thread { [connection, done, lock] in
            let c = connection.run()
            close(serverIn)
            close(serverOut)
            lock.lock()
            self.code = c
            lock.unlock()
            done.signal()
        }
        t.start()
    }

    static var defaultOptions: ConnectionOptions {
        var o = ConnectionOptions()
        o.workers = 4
        o.drainTimeout = 2
        return o
    }

    deinit {
        if toServer >= 0 { close(toServer) }
        if fromServer >= 0 { close(fromServer) }
    }

    // MARK: sending

    func sendRaw(_ bytes: [UInt8]) {
        let ok = bytes.withUnsafeBytes { raw -> Bool in
            var p = raw.baseAddress!, left = raw.count
            while left > 0 {
                let n = write(toServer, p, left)
                if n < 0 { if errno == EINTR { continue }; return false }
                p += n; left -= n
            }
            return true
        }
        XCTAssertTrue(ok, "write to server failed")
    }

    func sendRaw(_ text: String) { sendRaw(Array(text.utf8)) }

    func send(_ message: JSONValue) { sendRaw(framing.frame(JSONText.serialize(message))) }

    func request(_ id: Int, _ method: String, _ params: JSONValue? = nil) {
        var o: JSONObject = ["jsonrpc": "2.0", "id": JSONValue(id), "method": .string(method)]
        if let params { o["params"] = params }
        send(.object(o))
    }

    func notify(_ method: String, _ params: JSONValue? = nil) {
        var o: JSONObject = ["jsonrpc": "2.0", "method": .string(method)]
        if let params { o["params"] = params }
        send(.object(o))
    }

    func cancel(_ id: Int) { notify("$/cancelRequest", ["id": JSONValue(id)]) }

    /// initialize + initialized, checking the reply.
    func initialize(file: StaticString = #filePath, line: UInt = #line) {
        request(0, "initialize", ["clientInfo": ["name": "test"]])
        let r = receive()
        XCTAssertEqual(r?["id"], 0, file: file, line: line)
        XCTAssertNotNil(r?["result"], "initialize failed: \(String(describing: r))", file: file, line: line)
        notify("initialized", [:])
    }

    /// Closes the client's writing end: the server sees EOF.
    func closeInput() {
        if toServer >= 0 { close(toServer); toServer = -1 }
    }

    /// Closes only the end the client reads: the server's writes fail with EPIPE.
    func closeOutputOnly() {
        if fromServer >= 0 { close(fromServer); fromServer = -1 }
    }

    /// Closes both ends: the client vanished.
    func vanish() {
        closeInput()
        if fromServer >= 0 { close(fromServer); fromServer = -1 }
    }

    // MARK: receiving

    /// The next message from the server, or nil after `timeout` seconds or at EOF.
    func receive(timeout: Double = 5) -> JSONValue? {
        guard let body = receiveBody(timeout: timeout) else { return nil }
        return try? JSONText.parse(body)
    }

    func receiveBody(timeout: Double = 5) -> [UInt8]? {
        let deadline = Date(timeIntervalSinceNow: timeout)
        while true {
            if case .message(let m)? = decoder.next() { return Array(m) }
            let left = deadline.timeIntervalSinceNow
            guard left > 0, fromServer >= 0 else { return nil }
            var p = pollfd(fd: fromServer, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, Int32(left * 1000) + 1) > 0 else { return nil }
            var buf = [UInt8](repeating: 0, count: 65536)
            let n = read(fromServer, &buf, buf.count)
            if n <= 0 {
                if case .message(let m)? = decoder.finish() { return Array(m) }
                return nil
            }
            decoder.push(Array(buf[0..<n]))
        }
    }

    /// Receives until `count` messages arrived (or timeout); returns them in arrival order.
    func receive(count: Int, timeout: Double = 5) -> [JSONValue] {
        var out: [JSONValue] = []
        let deadline = Date(timeIntervalSinceNow: timeout)
        while out.count < count, let m = receive(timeout: max(0.001, deadline.timeIntervalSinceNow)) { out.append(m) }
        return out
    }

    /// The reply with this id, skipping (and collecting) notifications.
    func reply(to id: Int, timeout: Double = 5, notifications: inout [JSONValue]) -> JSONValue? {
        let deadline = Date(timeIntervalSinceNow: timeout)
        while let m = receive(timeout: max(0.001, deadline.timeIntervalSinceNow)) {
            if m["id"] == JSONValue(id) { return m }
            notifications.append(m)
        }
        return nil
    }

    func reply(to id: Int, timeout: Double = 5) -> JSONValue? {
        var ignored: [JSONValue] = []
        return reply(to: id, timeout: timeout, notifications: &ignored)
    }

    /// The exit code of `run()`, waiting up to `timeout`; nil if it has not returned.
    func exitCode(timeout: Double = 5) -> Int32? {
        if done.wait(timeout: .now() + timeout) == .success { done.signal() }
        lock.lock(); defer { lock.unlock() }
        return code
    }

    /// Whether the server closed its output (EOF), within `timeout`.
    func outputClosed(timeout: Double = 5) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        while deadline.timeIntervalSinceNow > 0 {
            var p = pollfd(fd: fromServer, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 50) > 0 else { continue }
            var b = [UInt8](repeating: 0, count: 4096)
            if read(fromServer, &b, b.count) <= 0 { return true }
        }
        return false
    }
}

func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
