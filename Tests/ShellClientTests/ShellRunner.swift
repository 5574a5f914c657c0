import Foundation
import RPC
import XCTest

/// Runs the real `advlens` binary with a private socket, as a user's shell would, with a
/// deadline on everything so a broken client or daemon fails a test instead of hanging it.
struct ShellResult {
    var status: Int32
    var stdout: String
    var stderr: String
    var seconds: Double

    /// stdout as JSON (the default output is one compact line).
    var json: JSONValue? { try? JSONText.parse(stdout.trimmingCharacters(in: .whitespacesAndNewlines)) }
}

final class ShellRunner {
    /// A private directory for the socket, pid file and log (short, for sun_path's 108 bytes).
    let directory: URL
    var socket: String { directory.appendingPathComponent("d.sock").path }
    var pidFile: String { directory.appendingPathComponent("d.pid").path }
    var logFile: String { directory.appendingPathComponent("d.log").path }
    /// Extra environment for every run (ADVLENSD, XDG_RUNTIME_DIR, ...).
    var environment: [String: String] = [:]

    init() throws {
        directory = URL(fileURLWithPath: "/tmp").appendingPathComponent("advlens-shell-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // The daemons it starts keep their cache database here, never in ~/.cache.
        environment["XDG_CACHE_HOME"] = directory.appendingPathComponent("cache").path
    }

    /// The `advlens` binary beside the test executable (swift build puts products and tests
    /// side by side), else the package's debug build.
    static var binary: URL {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        let candidates = [beside.appendingPathComponent("advlens"), repositoryRoot.appendingPathComponent(".build/debug/advlens")]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[1]
    }

    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    static var dataFile: URL { repositoryRoot.appendingPathComponent("data/mnist_5k.csv.gz") }

    /// The trained mnist-small model the attack tests use (relative to the repository root).
    static let trainedModel = "Tests/AttacksTests/Fixtures/mnist-small"

    /// `advlens --socket <private> ARGS` (without the --socket when `privateSocket` is false),
    /// run in `directory` (default: the repository root, so data/ and Tests/ paths work).
    @discardableResult
    func run(_ arguments: [String], stdin: String? = nil, privateSocket: Bool = true, timeout: Double = 90,
             directory: URL? = nil, whileRunning: ((Process, () -> String) -> Void)? = nil) -> ShellResult {
        let process = Process()
        process.executableURL = ShellRunner.binary
        process.arguments = (privateSocket ? ["--socket", socket] : []) + arguments
        process.currentDirectoryURL = directory ?? ShellRunner.repositoryRoot
        var env = ProcessInfo.processInfo.environment
        for key in ["ADVLENSD", "ADVLENS_SOCKET", "ADVLENS_IDLE_TIMEOUT"] { env[key] = nil }
        env["ADVLENS_IDLE_TIMEOUT"] = "300"   // a daemon a failed test leaks goes away by itself
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = stdin == nil ? FileHandle.nullDevice : input
        let outBytes = Collector(out.fileHandleForReading), errBytes = Collector(err.fileHandleForReading)
        let start = Date()
        do {
            try process.run()
        } catch {
            XCTFail("cannot run \(ShellRunner.binary.path): \(error)")
            return ShellResult(status: -1, stdout: "", stderr: "", seconds: 0)
        }
        try? out.fileHandleForWriting.close()
        try? err.fileHandleForWriting.close()
        if let stdin {
            input.fileHandleForWriting.write(Data(stdin.utf8))
            try? input.fileHandleForWriting.close()
        }
        whileRunning?(process, { errBytes.text })
        let deadline = Date(timeIntervalSinceNow: timeout)
        while process.isRunning && Date() < deadline { usleep(5_000) }
        if process.isRunning {
            process.terminate()
            usleep(200_000)
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            XCTFail("advlens \(arguments.joined(separator: " ")) did not finish within \(timeout) s; stderr: \(errBytes.text)")
        }
        process.waitUntilExit()
        let seconds = Date().timeIntervalSince(start)
        // The client's pipes reach EOF once it exits: a daemon it started must not hold them.
        XCTAssertTrue(outBytes.waitForEOF(seconds: 5) && errBytes.waitForEOF(seconds: 5),
                      "stdout/stderr still open after advlens exited (did the daemon inherit them?)")
        return ShellResult(status: process.terminationStatus, stdout: outBytes.text, stderr: errBytes.text, seconds: seconds)
    }

    /// The pid in the pid file, when there is one.
    var recordedPID: pid_t? {
        (try? String(contentsOfFile: pidFile, encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    /// Stops the daemon this runner started (daemon stop; SIGKILL as a backstop) and removes the directory.
    func cleanUp() {
        let pid = recordedPID
        if FileManager.default.fileExists(atPath: socket) { run(["daemon", "stop"], timeout: 20) }
        if let pid, kill(pid, 0) == 0, isDaemon(pid) { kill(pid, SIGKILL) }
        try? FileManager.default.removeItem(at: directory)
    }

    /// Whether `pid` is an advlensd serving this runner's socket (never signal anything else).
    func isDaemon(_ pid: pid_t) -> Bool {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
        return data.split(separator: 0).contains { String(decoding: $0, as: UTF8.self) == "unix:" + socket }
    }

    /// Whether `pid` is a live process (zombies count as gone).
    static func isAlive(_ pid: pid_t) -> Bool {
        guard kill(pid, 0) == 0, let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(after: close)...].split(separator: " ").first
        return state != "Z" && state != "X"
    }
}

/// Reads a pipe to EOF on a background thread.
final class Collector: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        let thread = Thread { [self] in
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                lock.lock(); data.append(chunk); lock.unlock()
            }
            done.signal()
        }
        thread.start()
    }

    var text: String {
        lock.lock(); defer { lock.unlock() }
        return String(decoding: data, as: UTF8.self)
    }

    func waitForEOF(seconds: Double) -> Bool {
        if done.wait(timeout: .now() + seconds) == .success {
            done.signal()
            return true
        }
        return false
    }
}

/// Fails the test (and stops it) when a precondition of the test does not hold: a missing
/// data file or fixture is a broken set-up (`make test` provides them), never a reason to skip.
func requireTrue(_ condition: Bool, _ message: String, file: StaticString = #filePath, line: UInt = #line) throws {
    guard condition else {
        XCTFail(message, file: file, line: line)
        throw RequirementNotMet(message: message)
    }
}

struct RequirementNotMet: Error { let message: String }

extension ShellRunner {
    /// `run`, asserting that the command succeeded, for tests that go on to read its output.
    func ok(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) -> ShellResult {
        let r = run(arguments)
        XCTAssertEqual(r.status, 0, "advlens \(arguments.joined(separator: " ")) failed: \(r.stderr)", file: file, line: line)
        return r
    }
}
