import Foundation
import RPC
import XCTest

/// The real `advlens` binary against the real `advlensd` it starts, each test on its own
/// private socket; every daemon a test starts is stopped in tearDown.
final class ShellClientTests: XCTestCase {
    var shell: ShellRunner!

    override func setUpWithError() throws {
        shell = try ShellRunner()
    }

    override func tearDown() {
        shell?.cleanUp()
        shell = nil
    }

    private func requireData() throws {
        try requireTrue(FileManager.default.fileExists(atPath: ShellRunner.dataFile.path),
                          "data/mnist_5k.csv.gz is missing (make data)")
    }

    /// A command that must succeed: its stdout as JSON.
    @discardableResult
    private func ok(_ arguments: [String], stdin: String? = nil, file: StaticString = #filePath, line: UInt = #line) -> JSONValue {
        let r = shell.run(arguments, stdin: stdin)
        XCTAssertEqual(r.status, 0, "advlens \(arguments.joined(separator: " ")) failed: \(r.stderr)", file: file, line: line)
        guard let json = r.json else {
            XCTFail("stdout is not one JSON value: \(r.stdout.prefix(500))", file: file, line: line)
            return .null
        }
        return json
    }

    private func names(_ list: JSONValue?) -> [String] {
        (list?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
    }

    // MARK: daemon reuse

    func testFirstCommandStartsTheDaemonAndTheSecondReusesIt() throws {
        let before = shell.run(["daemon", "status"])
        XCTAssertEqual(before.status, 1, "status with no daemon exits 1")
        XCTAssertEqual(before.json?["running"], false)
        XCTAssertFalse(FileManager.default.fileExists(atPath: shell.socket))

        let created = ok(["model", "create", "warm", "--arch", "mnist-small", "--seed", "3"])
        XCTAssertEqual(created["name"], "warm")
        XCTAssertEqual(created["parameters"]?.intValue, 80202)
        XCTAssertTrue(FileManager.default.fileExists(atPath: shell.socket), "the first command started a daemon on the socket")
        let pid = try XCTUnwrap(shell.recordedPID, "a pid file beside the socket")
        XCTAssertTrue(ShellRunner.isAlive(pid))
        let mode = try FileManager.default.attributesOfItem(atPath: shell.socket)[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o600)

        // The second command finds the same daemon, with the model created by the first still warm.
        let listed = ok(["model", "list"])
        XCTAssertEqual(names(listed["models"]), ["warm"])
        let status = ok(["daemon", "status"])
        XCTAssertEqual(status["running"], true)
        XCTAssertEqual(status["pid"]?.intValue, Int(pid), "the same daemon answered both commands")
        XCTAssertEqual(names(status["models"]), ["warm"])
        XCTAssertNotNil(status["uptimeSeconds"]?.doubleValue)
        XCTAssertEqual(shell.recordedPID, pid)
    }

    func testConcurrentFirstCommandsStartOneDaemon() throws {
        let results = UnsafeMutableBufferPointer<Int32>.allocate(capacity: 4)
        defer { results.deallocate() }
        let runner = shell!
        DispatchQueue.concurrentPerform(iterations: 4) { i in
            results[i] = runner.run(["model", "list"]).status
        }
        XCTAssertEqual(Array(results), [0, 0, 0, 0])
        let pid = try XCTUnwrap(ok(["daemon", "status"])["pid"]?.intValue)
        let daemons = try FileManager.default.contentsOfDirectory(atPath: "/proc").compactMap(Int32.init).filter {
            ShellRunner.isAlive($0) && shell.isDaemon($0)
        }
        XCTAssertEqual(daemons, [Int32(pid)], "exactly one daemon serves the socket")
    }

    // MARK: predict, JSON and tables

    func testPredictPrintsJSONByDefaultAndATableWithPretty() throws {
        try requireData()
        let loaded = ok(["dataset", "load", "mnist", "--kind", "mnist-csv", "--path", "data/mnist_5k.csv.gz",
                         "--split-test-per-class", "100", "--split-seed", "0"])
        XCTAssertEqual(names(loaded["datasets"]).sorted(), ["mnist-test", "mnist-train"])
        ok(["model", "create", "m", "--arch", "mnist-small", "--seed", "0"])

        let r = shell.run(["predict", "--model", "m", "--dataset", "mnist-test", "--indices", "0,5,9", "--top-k", "2"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout.filter { $0 == "\n" }.count, 1, "one line of JSON")
        let result = try XCTUnwrap(r.json)
        XCTAssertEqual(result["count"]?.intValue, 3)
        let predictions = try XCTUnwrap(result["predictions"]?.arrayValue)
        XCTAssertEqual(predictions.count, 3)
        for p in predictions {
            XCTAssertEqual(p["top"]?.arrayValue?.count, 2)
            XCTAssertNotNil(p["label"]?.intValue)
            XCTAssertNotNil(p["predicted"]?.intValue)
        }
        XCTAssertNotNil(result["accuracy"]?.doubleValue)

        let pretty = shell.run(["predict", "--model", "m", "--dataset", "mnist-test", "--indices", "0-3", "--pretty"])
        XCTAssertEqual(pretty.status, 0, pretty.stderr)
        XCTAssertNil(pretty.json, "--pretty prints a table, not JSON")
        let lines = pretty.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first?.split(separator: " ", omittingEmptySubsequences: true), ["index", "label", "predicted", "confidence", "top-k"])
        XCTAssertTrue(lines.count >= 2 + 4, pretty.stdout)
        XCTAssertTrue(lines[2].trimmingCharacters(in: .whitespaces).hasPrefix("0 "), pretty.stdout)
        XCTAssertTrue(pretty.stdout.contains("4 inputs, accuracy"), pretty.stdout)

        let info = shell.run(["model", "info", "m", "--pretty"])
        XCTAssertEqual(info.status, 0, info.stderr)
        XCTAssertTrue(info.stdout.contains("layer") && info.stdout.contains("conv2d") && info.stdout.contains("80,202"), info.stdout)
        let datasets = shell.run(["--pretty", "dataset", "list"])
        XCTAssertTrue(datasets.stdout.contains("mnist-train") && datasets.stdout.contains("4,000"), datasets.stdout)
    }

    func testProgressGoesToStderrAndStdoutStaysJSON() throws {
        try requireData()
        ok(["dataset", "load", "mnist", "--kind", "mnist-csv", "--path", "data/mnist_5k.csv.gz", "--split-test-per-class", "100"])
        ok(["model", "create", "m", "--arch", "mnist-small"])
        let r = shell.run(["predict", "--model", "m", "--dataset", "mnist-train", "--all", "--top-k", "1", "--progress"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.json?["count"]?.intValue, 4000)
        XCTAssertTrue(r.stderr.contains("predict ["), "a progress bar on stderr: \(r.stderr)")
        XCTAssertTrue(r.stderr.contains("100%"), r.stderr)
        // Without --progress and without a terminal: nothing on stderr.
        let quiet = shell.run(["predict", "--model", "m", "--dataset", "mnist-train", "--all", "--top-k", "1"])
        XCTAssertEqual(quiet.status, 0)
        XCTAssertEqual(quiet.stderr, "")
    }

    func testCtrlCCancelsTheRequestAndExits130() throws {
        try requireData()
        ok(["dataset", "load", "all", "--kind", "mnist-csv", "--path", "data/mnist_5k.csv.gz"])
        ok(["model", "create", "m", "--arch", "mnist-madry"])
        var interruptedWhileRunning = false
        // 65,000 images on the larger model: far longer than the time it takes to interrupt.
        let many = Array(repeating: "0-4999", count: 13).joined(separator: ",")
        let r = shell.run(["predict", "--model", "m", "--dataset", "all", "--indices", many, "--progress"], timeout: 600) { process, stderr in
            // Wait for the first progress report, then Ctrl-C (the deadlines only guard against a hang).
            let deadline = Date(timeIntervalSinceNow: 600)
            while process.isRunning && Date() < deadline && !stderr().contains("/65000") { usleep(2_000) }
            if process.isRunning {
                interruptedWhileRunning = true
                process.interrupt()
            }
        }
        try requireTrue(interruptedWhileRunning, "the predict finished before it could be interrupted")
        XCTAssertEqual(r.status, 130, r.stderr)
        XCTAssertTrue(r.stderr.contains("cancelling predict"), r.stderr)
        // The daemon lives on, model still resident.
        XCTAssertEqual(names(ok(["model", "list"])["models"]), ["m"])
    }

    // MARK: errors

    func testServerErrorExitsOneWithTheServersMessage() {
        let r = shell.run(["predict", "--model", "missing", "--input", "digit.png"])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stdout, "")
        XCTAssertTrue(r.stderr.hasPrefix("advlens: "), r.stderr)
        XCTAssertTrue(r.stderr.contains("missing") && r.stderr.contains("(code -32001)"), r.stderr)

        // The user's own daemon reads where the user points (here: no spec there); --root confines.
        let outside = shell.run(["model", "load", "x", "--spec", "/etc/passwd", "--weights", "/etc/passwd"])
        XCTAssertEqual(outside.status, 1)
        XCTAssertTrue(outside.stderr.contains("/etc/passwd") && !outside.stderr.contains("(code -32013)"), outside.stderr)
        let confined = shell.run(["model", "load", "x", "--root", ".", "--spec", "/etc/passwd", "--weights", "/etc/passwd"])
        XCTAssertEqual(confined.status, 1)
        XCTAssertTrue(confined.stderr.contains("(code -32013)"), "--root confines: \(confined.stderr)")
    }

    func testUsageErrorsExitTwoWithoutStartingADaemon() {
        for arguments in [["predict", "--model", "m"], ["predict", "--model", "m", "--dataset", "d"],
                          ["model", "create", "x"], ["call"], ["call", "{}"], ["call", "m", "{oops"], ["frobnicate"]] {
            let r = shell.run(arguments)
            XCTAssertEqual(r.status, 2, "\(arguments): \(r.stderr)")
            XCTAssertFalse(r.stderr.isEmpty)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: shell.socket), "usage errors never start a daemon")
    }

    func testUnreachableDaemonExitsThree() {
        shell.environment["ADVLENSD"] = "/nonexistent/advlensd"
        let r = shell.run(["model", "list"])
        XCTAssertEqual(r.status, 3)
        XCTAssertTrue(r.stderr.contains("ADVLENSD"), r.stderr)

        shell.environment["ADVLENSD"] = "/bin/false"   // starts, exits at once
        let failed = shell.run(["model", "list"])
        XCTAssertEqual(failed.status, 3)
        XCTAssertTrue(failed.stderr.contains("exited during start-up"), failed.stderr)
    }

    // MARK: call

    func testCallSendsRawRequests() {
        let r = shell.run(["call", "model/create", #"{"name":"c","architecture":"mnist-small","seed":1}"#, "model/list"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n").map { try? JSONText.parse(String($0)) }
        XCTAssertEqual(lines.count, 2)
        XCTAssertEqual(lines.first??["name"], "c")
        XCTAssertEqual(names(lines.last??["models"]), ["c"])

        let fromStdin = ok(["call", "model/info", "-"], stdin: #"{"name": "c"}"#)
        XCTAssertEqual(fromStdin["summary"]?["name"], "c")
        XCTAssertEqual(fromStdin["layers"]?.arrayValue?.isEmpty, false)

        let unknown = shell.run(["call", "no/such/method", "{}"])
        XCTAssertEqual(unknown.status, 1)
        XCTAssertTrue(unknown.stderr.contains("(code -32601)"), unknown.stderr)
        let bad = shell.run(["call", "model/create", #"{"name": 5}"#])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stderr.contains("(code -32602)") && bad.stderr.contains("params."), bad.stderr)
    }

    // MARK: daemon commands

    func testDaemonStartStatusStop() throws {
        let started = ok(["daemon", "start", "--idle-timeout", "60"])
        XCTAssertEqual(started["started"], true)
        let pid = try XCTUnwrap(started["pid"]?.intValue)
        XCTAssertEqual(ok(["daemon", "start"])["started"], false, "a second start finds it running")

        let pretty = shell.run(["daemon", "status", "--pretty"])
        XCTAssertEqual(pretty.status, 0)
        XCTAssertTrue(pretty.stdout.contains("running") && pretty.stdout.contains("\(pid)"), pretty.stdout)

        let stopped = ok(["daemon", "stop"])
        XCTAssertEqual(stopped["stopped"], true)
        XCTAssertEqual(stopped["pid"]?.intValue, pid)
        XCTAssertFalse(FileManager.default.fileExists(atPath: shell.socket), "the socket is gone after stop")
        XCTAssertFalse(ShellRunner.isAlive(Int32(pid)))
        XCTAssertEqual(shell.run(["daemon", "status"]).status, 1)
        XCTAssertEqual(ok(["daemon", "stop"])["stopped"], false, "stopping a stopped daemon is fine")
    }

    func testIdleDaemonExitsByItself() throws {
        ok(["daemon", "start", "--idle-timeout", "1"])
        let pid = try XCTUnwrap(shell.recordedPID)
        let deadline = Date(timeIntervalSinceNow: 15)
        while ShellRunner.isAlive(pid) && Date() < deadline { usleep(50_000) }
        XCTAssertFalse(ShellRunner.isAlive(pid), "the daemon left after its idle timeout")
        XCTAssertEqual(shell.run(["daemon", "status"]).status, 1)
        // The next command starts a new one.
        XCTAssertEqual(ok(["model", "list"])["models"], [])
        XCTAssertNotEqual(shell.recordedPID, pid)
    }

    func testDefaultSocketLivesInXDGRuntimeDir() throws {
        let runtime = shell.directory.appendingPathComponent("run")
        try FileManager.default.createDirectory(at: runtime, withIntermediateDirectories: true)
        shell.environment["XDG_RUNTIME_DIR"] = runtime.path
        defer { shell.run(["daemon", "stop"], privateSocket: false, timeout: 20) }
        let r = shell.run(["model", "list"], privateSocket: false)
        XCTAssertEqual(r.status, 0, r.stderr)
        let socket = runtime.appendingPathComponent("advlens/daemon.sock").path
        XCTAssertTrue(FileManager.default.fileExists(atPath: socket))
        let mode = try FileManager.default.attributesOfItem(atPath: runtime.appendingPathComponent("advlens").path)[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o700)
        XCTAssertTrue(FileManager.default.fileExists(atPath: runtime.appendingPathComponent("advlens/daemon.pid").path))
        let stop = shell.run(["daemon", "stop"], privateSocket: false, timeout: 20)
        XCTAssertEqual(stop.json?["stopped"], true)
        XCTAssertFalse(FileManager.default.fileExists(atPath: socket))
    }

    // MARK: --no-daemon

    func testNoDaemonRunsAPrivateDaemonForOneCommand() {
        let r = shell.run(["--no-daemon", "call", "model/create", #"{"name":"p","architecture":"mnist-small"}"#, "model/list"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n").compactMap { try? JSONText.parse(String($0)) }
        XCTAssertEqual(lines.count, 2)
        XCTAssertEqual(names(lines.last?["models"]), ["p"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: shell.socket), "--no-daemon leaves the shared socket alone")

        let alone = shell.run(["model", "list", "--no-daemon"])
        XCTAssertEqual(alone.status, 0, alone.stderr)
        XCTAssertEqual(alone.json?["models"], [], "nothing stays from the previous private daemon")
        let error = shell.run(["--no-daemon", "model", "info", "p"])
        XCTAssertEqual(error.status, 1)
        XCTAssertTrue(error.stderr.contains("(code -32001)"), error.stderr)
    }
}
