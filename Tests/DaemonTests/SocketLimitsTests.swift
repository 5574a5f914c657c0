import Foundation
import RPC
import XCTest

/// The socket daemon under clients that misbehave at the transport (issue 14): one that stops
/// reading, more connections than file descriptors, more than the connection limit. Every
/// wait is an explicit signal (a reply, end of stream, a log line) with a generous deadline
/// as a guard only.
final class SocketLimitsTests: XCTestCase {
    /// `advlensd --listen unix:PATH ARGS`, through /bin/sh so a test can lower its limits
    /// (`ulimit -n`), with stderr in a file the test can read while it runs.
    final class SocketDaemon {
        let process = Process()
        let directory: URL
        var socket: String { directory.appendingPathComponent("d.sock").path }
        var logFile: String { directory.appendingPathComponent("d.log").path }

        init(arguments: [String], fileLimit: Int? = nil) throws {
            directory = URL(fileURLWithPath: "/tmp").appendingPathComponent("advlens-limits-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            // $ADVLENSD runs another build (e.g. an older one, to see these tests fail).
            let binary = ProcessInfo.processInfo.environment["ADVLENSD"].flatMap { $0.isEmpty ? nil : $0 } ?? DaemonProcess.binary.path
            let quoted = ([binary, "--listen", "unix:" + socket, "--log-level", "info",
                           "--cache", directory.appendingPathComponent("cache.sqlite").path] + arguments)
                .map { "'" + $0 + "'" }.joined(separator: " ")
            let limit = fileLimit.map { "ulimit -n \($0) && " } ?? ""
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "\(limit)exec \(quoted) 2>'\(logFile)'"]
            process.currentDirectoryURL = DaemonProcess.repositoryRoot
            var env = ProcessInfo.processInfo.environment
            env["XDG_CACHE_HOME"] = directory.path
            process.environment = env
            process.standardInput = FileHandle.nullDevice
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            let deadline = Date(timeIntervalSinceNow: 60)
            while !UnixSocketServer.isServing(path: socket) {
                guard process.isRunning, Date() < deadline else {
                    throw SystemCallError("advlensd did not listen on \(socket); log: \(log)")
                }
                usleep(10_000)
            }
        }

        deinit {
            process.stop(grace: 20)
            try? FileManager.default.removeItem(at: directory)
        }

        var log: String { (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "" }

        /// Waits (guarded) until the log has a line containing `text`.
        func waitForLog(_ text: String, timeout: Double = 60) -> Bool {
            let deadline = Date(timeIntervalSinceNow: timeout)
            while !log.contains(text) {
                guard Date() < deadline else { return false }
                usleep(20_000)
            }
            return true
        }

        /// The daemon's thread count, from /proc/PID/status.
        var threads: Int {
            let status = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)) ?? ""
            let line = status.split(separator: "\n").first { $0.hasPrefix("Threads:") }
            return line.flatMap { Int($0.dropFirst("Threads:".count).trimmingCharacters(in: .whitespaces)) } ?? -1
        }

        /// CPU seconds (user + system) the daemon has used, from /proc/PID/stat.
        var cpuSeconds: Double {
            guard let stat = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return .nan }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            // After "pid (comm)": state is field 3, utime 14 and stime 15 (1-based).
            guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return .nan }
            return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
        }
    }

    /// A raw socket client speaking newline-delimited JSON.
    final class Client {
        let fd: Int32
        var decoder = FrameDecoder()
        private var nextID = 1
        init(_ path: String) throws { fd = try UnixSocketServer.connect(path: path) }
        deinit { close(fd) }

        func send(_ v: JSONValue) {
            let bytes = Framing.newlineDelimited.frame(JSONText.serialize(v))
            _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        }

        @discardableResult
        func request(_ method: String, _ params: JSONValue? = nil) -> JSONValue {
            let id = JSONValue(nextID)
            nextID += 1
            var o: JSONObject = ["jsonrpc": "2.0", "id": id, "method": .string(method)]
            if let params { o["params"] = params }
            send(.object(o))
            return id
        }

        /// The next message, nil at end of stream or after `timeout` (a guard).
        func receive(timeout: Double = 60) -> JSONValue? {
            let deadline = Date(timeIntervalSinceNow: timeout)
            while true {
                if case .message(let m)? = decoder.next() { return try? JSONText.parse(Array(m)) }
                guard let chunk = readChunk(until: deadline), !chunk.isEmpty else { return nil }
                decoder.push(chunk)
            }
        }

        /// The reply to `id` (notifications skipped).
        func response(to id: JSONValue, timeout: Double = 60) -> JSONValue? {
            let deadline = Date(timeIntervalSinceNow: timeout)
            while let m = receive(timeout: max(0.01, deadline.timeIntervalSinceNow)) {
                if m["id"] == id { return m }
            }
            return nil
        }

        func call(_ method: String, _ params: JSONValue? = nil, file: StaticString = #filePath, line: UInt = #line) -> JSONValue? {
            let r = response(to: request(method, params))
            XCTAssertNotNil(r?["result"], "\(method): \(String(describing: r))", file: file, line: line)
            return r?["result"]
        }

        /// Bytes available before `deadline`: [] at end of stream (or a reset), nil on timeout.
        func readChunk(until deadline: Date) -> [UInt8]? {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ms = Int32(max(0, deadline.timeIntervalSinceNow * 1000)) + 1
            guard poll(&p, 1, ms) > 0 else { return nil }
            var buf = [UInt8](repeating: 0, count: 1 << 16)
            let n = read(fd, &buf, buf.count)
            return n > 0 ? Array(buf[0..<n]) : []
        }

        /// Waits, reading nothing, until the server hangs up (POLLRDHUP: it shut the socket
        /// down, whatever unread bytes wait here); false if it has not at `timeout` (a guard).
        func hungUp(timeout: Double = 60) -> Bool {
            let deadline = Date(timeIntervalSinceNow: timeout)
            while deadline.timeIntervalSinceNow > 0 {
                var p = pollfd(fd: fd, events: Int16(0x2000), revents: 0)   // POLLRDHUP
                if poll(&p, 1, 1000) > 0 && p.revents & Int16(0x2000 | POLLHUP) != 0 { return true }
            }
            return false
        }

        /// Reads and discards everything until the server closes the connection; false if it
        /// is still open at `timeout` (a guard).
        func readsToEndOfStream(timeout: Double = 60) -> Bool {
            let deadline = Date(timeIntervalSinceNow: timeout)
            while let chunk = readChunk(until: deadline) {
                if chunk.isEmpty { return true }
            }
            return false
        }
    }

    // MARK: 1. A client that stops reading

    /// Client A: loads model "m" and dataset "mnist", then sends `requests` predicts with
    /// replies of about 300 kB each (far more than a socket buffer holds) and reads nothing more.
    func nonReadingClient(_ d: SocketDaemon, requests: Int) throws -> Client {
        let a = try Client(d.socket)
        _ = a.call("initialize", ["clientInfo": ["name": "A"]])
        _ = a.call("model/create", ["name": "m", "architecture": "mnist-small"])
        _ = a.call("dataset/load", ["name": "mnist", "kind": "mnist-csv", "path": "data/mnist_5k.csv.gz"])
        let indices = JSONValue.array((0..<1000).map { .number(Double($0)) })
        for _ in 0..<requests {
            a.request("predict", ["model": "m", "inputs": ["dataset": "mnist", "indices": indices], "topK": 10, "returnLogits": true])
        }
        return a
    }

    /// Client A asks for large replies and never reads them; client B on the same daemon is
    /// still answered (both workers would otherwise sit in write() to A), and the server
    /// closes A once its replies stall past --output-stall-timeout, logging it.
    func testAClientThatStopsReadingHoldsUpNobody() throws {
        let d = try SocketDaemon(arguments: ["--workers", "2", "--output-stall-timeout", "1"])
        let a = try nonReadingClient(d, requests: 8)

        let b = try Client(d.socket)
        _ = b.call("initialize", ["clientInfo": ["name": "B"]])
        for _ in 0..<3 {
            let r = b.response(to: b.request("predict", ["model": "m", "inputs": ["dataset": "mnist", "indices": [1, 2, 3]]]))
            XCTAssertEqual(r?["result"]?["count"], 3, "B is answered while A does not read: \(String(describing: r)); log: \(d.log)")
            if r == nil { return }
        }

        XCTAssertTrue(a.hungUp(), "the server closed A, which never read: \(d.log)")
        XCTAssertTrue(d.log.contains("no reply bytes written for 1 s"), "A's stall is logged: \(d.log)")
        XCTAssertNotNil(b.call("model/info", ["name": "m"]), "B still served after A was closed")
    }

    /// The byte limit: a client that keeps asking without reading is closed as soon as a
    /// reply finds --max-queued-output bytes still waiting (long before the stall timeout).
    func testQueuedOutputByteLimitClosesTheClient() throws {
        let d = try SocketDaemon(arguments: ["--workers", "2", "--max-queued-output", "500000", "--output-stall-timeout", "600"])
        let a = try nonReadingClient(d, requests: 12)
        XCTAssertTrue(a.hungUp(), "the server closed A, which never read: \(d.log)")
        XCTAssertTrue(d.log.contains("the limit is 500000"), "the overflow is logged: \(d.log)")
        let b = try Client(d.socket)
        XCTAssertNotNil(b.call("initialize", ["clientInfo": ["name": "B"]]))
        XCTAssertNotNil(b.call("model/info", ["name": "m"]))
    }

    // MARK: 2. File descriptors and the connection limit

    /// Under `ulimit -n 64`, more clients than descriptors: the accept loop must not spin
    /// (it used a full core) and must say why clients wait; once some leave, the waiting
    /// ones are served.
    func testRunningOutOfDescriptorsDoesNotSpin() throws {
        let d = try SocketDaemon(arguments: ["--workers", "2"], fileLimit: 64)
        var clients: [Client] = []
        for _ in 0..<80 { clients.append(try Client(d.socket)) }
        XCTAssertTrue(d.waitForLog("Too many open files"), "the condition is logged: \(d.log)")

        let wall0 = Date(), cpu0 = d.cpuSeconds
        usleep(2_000_000)
        let cpu = d.cpuSeconds - cpu0, wall = -wall0.timeIntervalSinceNow
        XCTAssertLessThan(cpu, 0.25 * wall, "an idle daemon out of descriptors used \(cpu) s of CPU in \(wall) s")
        XCTAssertEqual(d.log.components(separatedBy: "cannot accept connections").count - 1, 1, "logged once per episode: \(d.log)")

        // Descriptors free up: the last client (in the backlog until now) is served.
        clients.removeFirst(40)
        let last = clients[clients.count - 1]
        XCTAssertNotNil(last.call("initialize", ["clientInfo": ["name": "late"]]), "log: \(d.log)")
        XCTAssertTrue(d.waitForLog("accepting connections again"), d.log)
    }

    /// Idle clients cost no thread: 100 connected (each initialized, then silent) add far
    /// fewer than 100 threads (there was one reader thread per client), and are all served.
    func testIdleClientsCostNoThread() throws {
        let d = try SocketDaemon(arguments: ["--workers", "2"])
        let before = d.threads
        var clients: [Client] = []
        for k in 0..<100 {
            let c = try Client(d.socket)
            XCTAssertNotNil(c.call("initialize", ["clientInfo": ["name": .string("idle \(k)")]]))
            clients.append(c)
        }
        let after = d.threads
        XCTAssertLessThan(after - before, 30, "threads went from \(before) to \(after) for 100 idle clients")
        for c in clients.shuffled().prefix(10) { XCTAssertNotNil(c.call("model/list")) }
    }

    /// One client over --max-connections gets one -32011 "too many connections" error, in
    /// its framing, and is closed; when a client leaves, a new one is served.
    func testConnectionLimitRefusesWithOneError() throws {
        let d = try SocketDaemon(arguments: ["--max-connections", "2"])
        guard let a = try served(d, "A"), let b = try served(d, "B") else { return }

        let c = try Client(d.socket)
        c.request("initialize", ["clientInfo": ["name": "C"]])
        let refusal = c.receive()
        XCTAssertEqual(refusal?["error"]?["code"], -32011, String(describing: refusal))
        XCTAssertEqual(refusal?["id"], .null)
        XCTAssertTrue(refusal?["error"]?["message"]?.stringValue?.hasPrefix("too many connections") ?? false, String(describing: refusal))
        XCTAssertTrue(c.readsToEndOfStream(), "the refused client is closed")

        // Content-Length framing: the refusal comes in it.
        let lsp = try Client(d.socket)
        let body = JSONText.serialize(["jsonrpc": "2.0", "id": 1, "method": "initialize", "params": [:]])
        let frame = Framing.contentLength.frame(body)
        _ = frame.withUnsafeBytes { write(lsp.fd, $0.baseAddress, $0.count) }
        var raw: [UInt8] = []
        while let chunk = lsp.readChunk(until: Date(timeIntervalSinceNow: 60)), !chunk.isEmpty { raw += chunk }
        let text = String(decoding: raw, as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("Content-Length: "), text)
        XCTAssertTrue(text.contains("-32011"), text)
        XCTAssertTrue(d.log.contains("refusing new clients"), d.log)

        // A leaves; a newcomer is served.
        a.send(["jsonrpc": "2.0", "method": "exit"])
        XCTAssertTrue(a.readsToEndOfStream())
        XCTAssertNotNil(try served(d, "E"), d.log)
        withExtendedLifetime(b) {}
    }

    /// A client that got initialize answered; one refused (the server may not have counted a
    /// client that just left, such as the readiness probe) tries again, within a guard.
    func served(_ d: SocketDaemon, _ name: String) throws -> Client? {
        let deadline = Date(timeIntervalSinceNow: 60)
        while Date() < deadline {
            let c = try Client(d.socket)
            if c.response(to: c.request("initialize", ["clientInfo": ["name": .string(name)]]))?["result"] != nil { return c }
            usleep(20_000)
        }
        XCTFail("\(name) was never served: \(d.log)")
        return nil
    }
}
