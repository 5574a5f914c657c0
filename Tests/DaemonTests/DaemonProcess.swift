import Foundation
import RPC
import XCTest

/// The real `advlensd` binary driven over its stdin/stdout pipes, as an editor would: LSP
/// framing (default) or NDJSON, requests by id, notifications collected. Every wait has a
/// deadline so a broken daemon fails a test instead of hanging it.
final class DaemonProcess {
    enum Framing { case contentLength, lines }

    let process = Process()
    let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
    let framing: Framing
    private var buffer: [UInt8] = []
    private var nextID = 1
    /// Messages read but not yet claimed (responses to other ids, notifications).
    private(set) var pending: [JSONValue] = []

    /// The binary beside the test executable (swift build puts products and tests side by
    /// side), or the package's debug build.
    static var binary: URL {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        let candidates = [beside.appendingPathComponent("advlensd"), repositoryRoot.appendingPathComponent(".build/debug/advlensd")]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[1]
    }

    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// A private directory for this daemon's cache database (removed with the process object)
    /// unless the test names a cache of its own: tests never touch ~/.cache or share state.
    let privateCache: URL?

    /// `cache`: the cache database to use (for restart and sharing tests); default a private one.
    init(framing: Framing = .contentLength, arguments: [String] = [], root: URL = DaemonProcess.repositoryRoot, cache: URL? = nil) throws {
        self.framing = framing
        process.executableURL = DaemonProcess.binary
        var env = ProcessInfo.processInfo.environment
        if let cache {
            privateCache = nil
            process.arguments = ["--log-level", "warning", "--cache", cache.path] + arguments
            env["XDG_CACHE_HOME"] = cache.deletingLastPathComponent().path
        } else {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("advlens-daemon-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            privateCache = dir
            process.arguments = ["--log-level", "warning", "--cache", dir.appendingPathComponent("cache.sqlite").path] + arguments
            env["XDG_CACHE_HOME"] = dir.path
        }
        process.environment = env
        process.currentDirectoryURL = root
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
    }

    deinit {
        // SIGTERM lets a daemon drain (up to 2 x --drain-timeout); a test that is done with it
        // does not wait for that.
        process.stop(grace: 1)
        if let privateCache { try? FileManager.default.removeItem(at: privateCache) }
    }

    // MARK: writing

    func sendRaw(_ bytes: [UInt8]) {
        stdin.fileHandleForWriting.write(Data(bytes))
    }

    func send(_ message: JSONValue) {
        let body = JSONText.serialize(message)
        switch framing {
        case .contentLength: sendRaw(Array("Content-Length: \(body.count)\r\n\r\n".utf8) + body)
        case .lines: sendRaw(body + [0x0A])
        }
    }

    /// Sends a request and returns its id.
    @discardableResult
    func request(_ method: String, _ params: JSONValue? = nil, id: JSONValue? = nil) -> JSONValue {
        let requestID = id ?? .number(Double(nextID))
        nextID += 1
        var msg: JSONObject = ["jsonrpc": "2.0", "id": requestID, "method": .string(method)]
        if let params { msg["params"] = params }
        send(.object(msg))
        return requestID
    }

    func notify(_ method: String, _ params: JSONValue? = nil) {
        var msg: JSONObject = ["jsonrpc": "2.0", "method": .string(method)]
        if let params { msg["params"] = params }
        send(.object(msg))
    }

    func closeInput() { try? stdin.fileHandleForWriting.close() }

    // MARK: reading

    /// Reads one message (or nil at end of stream / deadline).
    func readMessage(timeout: TimeInterval = 30) -> JSONValue? {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let message = takeMessage() { return message }
            guard Date() < deadline, fill(until: deadline) else { return nil }
        }
    }

    private func fill(until deadline: Date) -> Bool {
        let fd = stdout.fileHandleForReading.fileDescriptor
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ms = Int32(max(0, deadline.timeIntervalSinceNow * 1000))
        guard poll(&pfd, 1, ms) > 0 else { return false }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        let n = read(fd, &chunk, chunk.count)
        guard n > 0 else { return false }
        buffer += chunk[0..<n]
        return true
    }

    private func takeMessage() -> JSONValue? {
        switch framing {
        case .lines:
            guard let nl = buffer.firstIndex(of: 0x0A) else { return nil }
            let line = Array(buffer[..<nl])
            buffer.removeFirst(nl + 1)
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x0D }) { return takeMessage() }
            return try? JSONText.parse(line, options: .init(exactIntegers: true))
        case .contentLength:
            let separator: [UInt8] = [13, 10, 13, 10]
            guard let end = buffer.indices.first(where: { buffer.count >= $0 + 4 && Array(buffer[$0..<($0 + 4)]) == separator }) else { return nil }
            let header = String(decoding: buffer[..<end], as: UTF8.self)
            guard let line = header.split(separator: "\r\n").first(where: { $0.lowercased().hasPrefix("content-length:") }),
                  let length = Int(line.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)),
                  buffer.count >= end + 4 + length else { return nil }
            let body = Array(buffer[(end + 4)..<(end + 4 + length)])
            buffer.removeFirst(end + 4 + length)
            return try? JSONText.parse(body, options: .init(exactIntegers: true))   // ids as sent, to the last digit
        }
    }

    /// The response to `id` (other messages read meanwhile are kept in `pending`).
    func response(to id: JSONValue, timeout: TimeInterval = 60, file: StaticString = #filePath, line: UInt = #line) -> JSONValue {
        if let i = pending.firstIndex(where: { $0["id"] == id && $0["method"] == nil }) { return pending.remove(at: i) }
        let deadline = Date().addingTimeInterval(timeout)
        while let m = readMessage(timeout: max(0.01, deadline.timeIntervalSinceNow)) {
            if m["id"] == id && m["method"] == nil { return m }
            pending.append(m)
        }
        XCTFail("no response to \(id) within \(timeout) s; stderr: \(stderrText())", file: file, line: line)
        return .null
    }

    /// Cancels request `id` after its first progress report (`report` sees it) and returns the
    /// partial result its -32800 carries in error.data; nil, with a failure, when it finished
    /// before the cancel or answered otherwise.
    func partialAfterFirstReport(_ id: JSONValue, report: (JSONValue) -> Void = { _ in },
                                 file: StaticString = #filePath, line: UInt = #line) -> JSONValue? {
        var reported = false
        while !reported, let m = readMessage(timeout: 600) {   // a hang guard only
            if m["method"] == "$/progress", m["params"]?["value"]?["kind"] == "report" {
                reported = true
                report(m)
            }
            if m["id"] == id { XCTFail("finished before the cancel: \(m)", file: file, line: line); return nil }
        }
        XCTAssertTrue(reported, file: file, line: line)
        notify("$/cancelRequest", ["id": id])
        let r = response(to: id, file: file, line: line)
        XCTAssertEqual(r["error"]?["code"]?.intValue, -32800, file: file, line: line)
        XCTAssertEqual(r["error"]?["data"]?["stoppedEarly"], true, file: file, line: line)
        return r["error"]?["data"]
    }

    /// The result of a request that must succeed.
    func call(_ method: String, _ params: JSONValue? = nil, file: StaticString = #filePath, line: UInt = #line) -> JSONValue {
        let r = response(to: request(method, params), file: file, line: line)
        XCTAssertNil(r["error"], "\(method) failed: \(r)", file: file, line: line)
        return r["result"] ?? .null
    }

    /// The error of a request that must fail.
    func failure(_ method: String, _ params: JSONValue? = nil, file: StaticString = #filePath, line: UInt = #line) -> (code: Int, message: String) {
        let r = response(to: request(method, params), file: file, line: line)
        XCTAssertNil(r["result"], "\(method) should fail: \(r)", file: file, line: line)
        return (r["error"]?["code"]?.intValue ?? 0, r["error"]?["message"]?.stringValue ?? "")
    }

    func initialize(root: String? = nil) -> JSONValue {
        var params: JSONObject = ["clientInfo": ["name": "DaemonTests"]]
        if let root { params["rootPath"] = .string(root) }
        let result = call("initialize", .object(params))
        notify("initialized")
        return result
    }

    /// Waits for the process to end and returns its exit status (nil on timeout).
    func waitForExit(timeout: TimeInterval = 10) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        return process.isRunning ? nil : process.terminationStatus
    }

    func stderrText() -> String {
        guard !process.isRunning else { return "(still running)" }
        return String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    }
}

extension JSONValue {
    /// Base64 float32 tensor on the wire.
    static func tensor(shape: [Int], values: [Float]) -> JSONValue {
        let data = values.withUnsafeBytes { Data($0).base64EncodedString() }
        return ["shape": .array(shape.map { .number(Double($0)) }), "dtype": "float32", "data": .string(data)]
    }
}

extension Process {
    /// SIGTERM, then SIGKILL if the process has not exited within `grace` seconds; returns once
    /// it is gone (a daemon stuck in a write or a drain must not hang the test run).
    func stop(grace: Double) {
        guard isRunning else { return }
        terminate()
        let deadline = Date(timeIntervalSinceNow: grace)
        while isRunning && Date() < deadline { usleep(5_000) }
        if isRunning { kill(processIdentifier, SIGKILL) }
        waitUntilExit()
    }
}
