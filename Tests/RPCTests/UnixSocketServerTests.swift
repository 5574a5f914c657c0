import Foundation
import XCTest
import RPC

/// Socket serving: two clients with their own lifecycles, one handler and one lock table.
final class UnixSocketServerTests: XCTestCase {
    var dir = ""

    override func setUp() {
        dir = NSTemporaryDirectory() + "rpc-sock-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    /// A socket client speaking NDJSON with timeouts.
    final class Client {
        let fd: Int32
        var decoder = FrameDecoder()
        init(_ path: String) throws { fd = try UnixSocketServer.connect(path: path) }
        deinit { close(fd) }
        func send(_ v: JSONValue) { _ = Framing.newlineDelimited.frame(JSONText.serialize(v)).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } }
        func request(_ id: Int, _ method: String, _ params: JSONValue? = nil) {
            var o: JSONObject = ["jsonrpc": "2.0", "id": JSONValue(id), "method": .string(method)]
            if let params { o["params"] = params }
            send(.object(o))
        }
        func receive(timeout: Double = 5) -> JSONValue? {
            let deadline = Date(timeIntervalSinceNow: timeout)
            while true {
                if case .message(let m)? = decoder.next() { return try? JSONText.parse(Array(m)) }
                var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard deadline.timeIntervalSinceNow > 0, poll(&p, 1, Int32(deadline.timeIntervalSinceNow * 1000) + 1) > 0 else { return nil }
                var buf = [UInt8](repeating: 0, count: 65536)
                let n = read(fd, &buf, buf.count)
                if n <= 0 { return nil }
                decoder.push(Array(buf[0..<n]))
            }
        }
    }

    func start(_ server: UnixSocketServer) -> DispatchSemaphore {
        let done = DispatchSemaphore(value: 0)
        Thread { server.run(); done.signal() }.start()
        return done
    }

    func testTwoClientsModeAndSharedLocks() throws {
        let path = dir + "/d.sock"
        let h = ToyHandler()
        var options = ConnectionOptions()
        options.workers = 4
        let server = try UnixSocketServer(path: path, handler: h, options: options)
        let done = start(server)
        var st = stat()
        XCTAssertEqual(lstat(path, &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o600)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFSOCK)

        let a = try Client(path), b = try Client(path)
        a.request(0, "initialize")
        XCTAssertNotNil(a.receive()?["result"])
        b.request(5, "echo")
        XCTAssertEqual(b.receive()?["error"]?["code"], -32002, "each client has its own lifecycle")
        b.request(0, "initialize")
        XCTAssertNotNil(b.receive()?["result"])
        XCTAssertEqual(server.clientCount, 2)

        // A's read of model:m holds back B's write; both answered.
        a.request(11, "sleep", ["ms": 200, "key": "model:m"])
        usleep(30_000)
        b.request(12, "sleep", ["ms": 10, "key": "model:m", "write": true])
        XCTAssertNotNil(a.receive()?["result"])
        XCTAssertNotNil(b.receive()?["result"])
        if let r = h.spans[11], let w = h.spans[12] {
            XCTAssertGreaterThanOrEqual(w.start, r.end, "B's write waited for A's read")
        } else {
            XCTFail("missing spans")
        }

        a.request(2, "shutdown")
        XCTAssertNotNil(a.receive())
        a.send(["jsonrpc": "2.0", "method": "exit"])
        b.request(3, "echo", ["still": "here"])
        XCTAssertEqual(b.receive()?["result"], ["still": "here"], "A's exit does not affect B")

        // A second server on the same path is refused while this one lives.
        XCTAssertThrowsError(try UnixSocketServer(path: path, handler: h))
        XCTAssertTrue(UnixSocketServer.isServing(path: path))

        server.stop()
        XCTAssertEqual(done.wait(timeout: .now() + 5), .success)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path), "socket file removed")
    }

    func testStaleSocketFile() throws {
        let path = dir + "/s.sock"
        do {
            let s = try UnixSocketServer(path: path, handler: ToyHandler())
            withExtendedLifetime(s) {}
        }   // deinit closes the listening fd; the file remains, like after kill -9
        XCTAssertTrue(FileManager.default.fileExists(atPath: path))
        XCTAssertFalse(UnixSocketServer.isServing(path: path))
        let s2 = try UnixSocketServer(path: path, handler: ToyHandler())
        let done = start(s2)
        let c = try Client(path)
        c.request(0, "initialize")
        XCTAssertNotNil(c.receive()?["result"])
        s2.stop()
        XCTAssertEqual(done.wait(timeout: .now() + 5), .success)

        let plain = dir + "/plain"
        FileManager.default.createFile(atPath: plain, contents: Data("x".utf8))
        XCTAssertThrowsError(try UnixSocketServer(path: plain, handler: ToyHandler()))
        XCTAssertEqual(try String(contentsOfFile: plain, encoding: .utf8), "x", "a regular file is never replaced")
    }

    func testStopIsBoundedWithBusyClients() throws {
        let path = dir + "/busy.sock"
        var options = ConnectionOptions()
        options.drainTimeout = 0.3
        let h = ToyHandler()
        let server = try UnixSocketServer(path: path, handler: h, options: options)
        let done = start(server)
        let c = try Client(path)
        c.request(0, "initialize")
        XCTAssertNotNil(c.receive())
        c.request(1, "sleep", ["ms": 200_000])     // polls its token
        XCTAssertTrue(h.waitUntilStarted(1))
        server.stop()
        // Stops with the cancelled request long before its 200 s (the 60 s only guard a hang).
        XCTAssertEqual(done.wait(timeout: .now() + 60), .success)
        let span = h.spans[1]
        XCTAssertLessThan((span?.end ?? .infinity) - (span?.start ?? 0), 200, "the request was cancelled, not run to its end")
    }

    func testIdleTimeout() throws {
        let path = dir + "/idle.sock"
        let server = try UnixSocketServer(path: path, handler: ToyHandler(), idleTimeout: 0.5)
        let t0 = now()
        let done = start(server)
        do {
            let c = try Client(path)
            c.request(0, "initialize")
            XCTAssertNotNil(c.receive())
            usleep(700_000)               // connected: no idle stop
            XCTAssertEqual(server.clientCount, 1)
        }
        XCTAssertEqual(done.wait(timeout: .now() + 5), .success, "stopped after the last client left")
        XCTAssertGreaterThan(now() - t0, 1.1)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
    }

    /// A client that asks for large replies and stops reading (without closing) holds up no
    /// worker and no other client; the server closes it once its replies stall.
    func testAClientThatStopsReadingHoldsUpNobody() throws {
        let path = dir + "/slow.sock"
        var options = ConnectionOptions()
        options.workers = 2
        options.outputStallTimeout = 0.5
        let server = try UnixSocketServer(path: path, handler: ToyHandler(), options: options)
        let done = start(server)
        let a = try Client(path), b = try Client(path)
        a.request(0, "initialize")
        XCTAssertNotNil(a.receive()?["result"])
        let big = JSONValue.string(String(repeating: "x", count: 300_000))
        for k in 1...8 { a.request(k, "echo", ["blob": big]) }   // ~2.4 MB of replies, never read
        b.request(0, "initialize")
        XCTAssertNotNil(b.receive()?["result"])
        for k in 1...4 {
            b.request(k, "echo", ["k": JSONValue(k)])
            XCTAssertEqual(b.receive(timeout: 60)?["result"]?["k"], JSONValue(k), "B answered while A does not read")
        }
        // A is closed by the server while it still reads nothing: its end sees the hang-up
        // (POLLRDHUP) with the unread replies still queued.
        var closed = false
        let deadline = Date(timeIntervalSinceNow: 60)
        while !closed && deadline.timeIntervalSinceNow > 0 {
            var p = pollfd(fd: a.fd, events: Int16(0x2000), revents: 0)   // POLLRDHUP
            guard poll(&p, 1, 1000) > 0 else { continue }
            closed = p.revents & Int16(0x2000 | POLLHUP) != 0
        }
        XCTAssertTrue(closed, "the server closed the client that stopped reading")
        b.request(9, "echo", ["after": true])
        XCTAssertEqual(b.receive(timeout: 60)?["result"]?["after"], true)
        server.stop()
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
    }

    /// Beyond maxConnections a client gets one error and is closed.
    func testConnectionLimit() throws {
        let path = dir + "/cap.sock"
        var options = ConnectionOptions()
        options.maxConnections = 1
        options.connectionLimitCode = -32011
        let server = try UnixSocketServer(path: path, handler: ToyHandler(), options: options)
        let done = start(server)
        let a = try Client(path)
        a.request(0, "initialize")
        XCTAssertNotNil(a.receive()?["result"])
        let b = try Client(path)
        b.request(0, "initialize")
        let refusal = b.receive(timeout: 60)
        XCTAssertEqual(refusal?["error"]?["code"], -32011)
        XCTAssertNil(b.receive(timeout: 60), "then closed")
        server.stop()
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
    }
}
