import Foundation
import RPC
import XCTest

/// `advlens attack`, `advlens handle` and `predict --handle` against the real daemon, on the
/// trained mnist-small of the attack fixtures. Attacks stay small (debug builds are slow):
/// at most 16 images and 10 steps each.
final class AttackCommandTests: XCTestCase {
    var shell: ShellRunner!

    override func setUpWithError() throws {
        shell = try ShellRunner()
    }

    override func tearDown() {
        shell?.cleanUp()
        shell = nil
    }

    /// One image per class of mnist-test: the split's default order interleaves the classes, so
    /// its first ten images hold one digit each (index i holds class i mod 10).
    static let perClass = "0,1,2,3,4,5,6,7,8,9"
    static func classOf(_ index: Int) -> Int { index % 10 }

    /// Loads the trained model as "trained" and MNIST as mnist-train / mnist-test.
    private func loadModelAndData() throws {
        try requireTrue(FileManager.default.fileExists(atPath: ShellRunner.dataFile.path), "data/mnist_5k.csv.gz is missing (make data)")
        let model = ShellRunner.trainedModel
        try requireTrue(FileManager.default.fileExists(atPath: ShellRunner.repositoryRoot.appendingPathComponent(model + "/model.safetensors").path),
                          "the trained fixture model is missing")
        ok(["model", "load", "trained", "--spec", model + "/model.json", "--weights", model + "/model.safetensors"])
        ok(["dataset", "load", "mnist", "--kind", "mnist-csv", "--path", "data/mnist_5k.csv.gz",
            "--split-test-per-class", "100", "--split-seed", "0"])
    }

    /// A command that must succeed: its stdout as JSON.
    @discardableResult
    private func ok(_ arguments: [String], directory: URL? = nil, file: StaticString = #filePath, line: UInt = #line) -> JSONValue {
        let r = shell.run(arguments, directory: directory)
        XCTAssertEqual(r.status, 0, "advlens \(arguments.joined(separator: " ")) failed: \(r.stderr)", file: file, line: line)
        XCTAssertEqual(r.stdout.filter { $0 == "\n" }.count, 1, "one line of JSON", file: file, line: line)
        guard let json = r.json else {
            XCTFail("stdout is not one JSON value: \(r.stdout.prefix(500))", file: file, line: line)
            return .null
        }
        return json
    }

    private func pgd(_ indices: String, _ extra: [String] = []) -> [String] {
        ["attack", "--model", "trained", "--method", "pgd", "--dataset", "mnist-test", "--indices", indices,
         "--epsilon", "0.3", "--step-size", "0.05", "--steps", "10"] + extra
    }

    private func fraction(_ samples: [JSONValue], _ predicate: (JSONValue) -> Bool) -> Double {
        Double(samples.filter(predicate).count) / Double(samples.count)
    }

    // MARK: JSON

    func testAttackPrintsTheWholeResultAsJSON() throws {
        try loadModelAndData()
        let indices = Self.perClass.split(separator: ",").compactMap { Int($0) } + [10, 11]
        // Without early stopping every iteration runs, so the final "iteration 10/10" report
        // always comes (reports are rate-limited, and a fast run may end before the first one).
        let r = shell.run(pgd(indices.map(String.init).joined(separator: ","), ["--seed", "7", "--progress", "--no-early-stop"]))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout.filter { $0 == "\n" }.count, 1, "one line of JSON")
        let result = try XCTUnwrap(r.json, r.stdout)

        let handle = try XCTUnwrap(result["handle"]?.stringValue)
        XCTAssertTrue(handle.hasPrefix("adv-"), handle)

        let summary = try XCTUnwrap(result["summary"])
        XCTAssertEqual(summary["count"]?.intValue, 12)
        XCTAssertEqual(summary["stoppedEarly"], false)
        let clean = try XCTUnwrap(summary["cleanAccuracy"]?.doubleValue)
        XCTAssertGreaterThanOrEqual(clean, 0.8, "the trained model classifies most clean images")
        let success = try XCTUnwrap(summary["successRate"]?.doubleValue)
        XCTAssertGreaterThanOrEqual(success, 0.5, "PGD at eps 0.3 fools an undefended model")
        for key in ["robustAccuracy", "meanLinf", "medianLinf", "meanL2", "medianL2", "elapsedMs", "imagesPerSecond"] {
            XCTAssertNotNil(summary[key]?.doubleValue, "summary.\(key)")
        }

        let samples = try XCTUnwrap(result["samples"]?.arrayValue)
        XCTAssertEqual(samples.count, 12)
        for (i, s) in samples.enumerated() {
            XCTAssertEqual(s["index"]?.intValue, i)
            XCTAssertEqual(s["source"]?.intValue, i)
            XCTAssertEqual(s["label"]?.intValue, Self.classOf(indices[i]), "dataset inputs carry their labels")
            XCTAssertNotNil(s["adversarialLabel"]?.intValue)
            XCTAssertNotNil(s["success"]?.boolValue)
            XCTAssertLessThanOrEqual(try XCTUnwrap(s["linf"]?.doubleValue), 0.3 + 1e-4, "inside the L-inf ball")
            XCTAssertGreaterThanOrEqual(try XCTUnwrap(s["l2"]?.doubleValue), 0)
            XCTAssertLessThanOrEqual(try XCTUnwrap(s["iterations"]?.intValue), 10)
            XCTAssertNotNil(s["confidence"]?.doubleValue)
        }
        // Untargeted success counts the samples the model got right before the attack.
        let attacked = samples.filter { $0["cleanCorrect"] == true }
        XCTAssertEqual(summary["attacked"]?.intValue, attacked.count)
        XCTAssertEqual(success, fraction(attacked) { $0["success"] == true }, accuracy: 1e-9)
        XCTAssertEqual(try XCTUnwrap(summary["robustAccuracy"]?.doubleValue),
                       fraction(samples) { $0["adversarialLabel"] == $0["label"] }, accuracy: 1e-9)

        let config = try XCTUnwrap(result["config"])
        XCTAssertEqual(config["method"], "pgd")
        XCTAssertEqual(config["norm"], "linf")
        XCTAssertEqual(config["steps"]?.intValue, 10)
        XCTAssertEqual(try XCTUnwrap(config["epsilon"]?.doubleValue), 0.3, accuracy: 1e-6)
        XCTAssertEqual(try XCTUnwrap(config["stepSize"]?.doubleValue), 0.05, accuracy: 1e-6)
        XCTAssertEqual(config["seed"]?.intValue, 7)
        XCTAssertEqual(config["models"]?[0]?["name"], "trained")
        XCTAssertNotNil(config["models"]?[0]?["fingerprint"]?.stringValue)

        // --progress: the iteration and the fooled fraction on stderr; stdout stayed JSON (above).
        XCTAssertTrue(r.stderr.contains("attack pgd ["), r.stderr)
        XCTAssertTrue(r.stderr.contains("iteration ") && r.stderr.contains("% fooled"), r.stderr)
    }

    /// The AutoAttack family's options reach the daemon under their wire names.
    func testAutoAttackFamilyOptions() throws {
        try loadModelAndData()
        let apgd = ok(["attack", "--model", "trained", "--method", "apgd-t", "--dataset", "mnist-test", "--indices", "0,1",
                       "--epsilon", "0.2", "--steps", "5", "--target-classes", "2", "--loss", "ce", "--norm", "l2"])
        XCTAssertEqual(apgd["config"]?["targetClasses"]?.intValue, 2)
        XCTAssertEqual(apgd["config"]?["loss"], "ce")
        XCTAssertEqual(apgd["config"]?["norm"], "l2")
        let square = ok(["attack", "--model", "trained", "--method", "square", "--dataset", "mnist-test", "--indices", "0,1",
                         "--epsilon", "0.2", "--queries", "30", "--square-fraction", "0.5"])
        XCTAssertEqual(square["config"]?["queries"]?.intValue, 30)
        XCTAssertEqual(try XCTUnwrap(square["config"]?["squareFraction"]?.doubleValue), 0.5, accuracy: 1e-6)
        for s in try XCTUnwrap(square["samples"]?.arrayValue) {
            XCTAssertLessThanOrEqual(try XCTUnwrap(s["iterations"]?.intValue), 30)
        }
        let aa = ok(["attack", "--model", "trained", "--method", "autoattack", "--dataset", "mnist-test", "--indices", "0,1",
                     "--epsilon", "0.3", "--autoattack-version", "standard"])
        XCTAssertEqual(aa["config"]?["version"], "standard")
        XCTAssertEqual(aa["summary"]?["robustAccuracy"]?.doubleValue, 0, "autoattack at 0.3 fools an undefended model")
        let bad = shell.run(["attack", "--model", "trained", "--method", "apgd", "--dataset", "mnist-test", "--indices", "0",
                             "--loss", "mse"])
        XCTAssertEqual(bad.status, 2, "a usage error: \(bad.stderr)")
        XCTAssertTrue(bad.stderr.contains("--loss"), bad.stderr)
    }

    // MARK: --pretty

    func testPrettyPrintsTheSummaryTheSampleTableAndTheTransferTable() throws {
        try loadModelAndData()
        let r = shell.run(pgd(Self.perClass, ["--evaluate-on", "trained", "--pretty"]))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertNil(r.json, "--pretty prints a report, not JSON")
        let out = r.stdout
        let lines = out.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        XCTAssertTrue(lines.first?.hasPrefix("attack") == true && out.contains("pgd on trained ("), out)
        XCTAssertTrue(out.contains("epsilon 0.3, step size 0.05, 10 steps"), "the resolved config: \(out)")
        for key in ["config", "success", "accuracy", "L-inf", "L2", "speed", "handle"] {
            XCTAssertTrue(lines.contains { $0.hasPrefix(key + " ") }, "summary line \(key): \(out)")
        }
        XCTAssertTrue(out.contains("robust ") && out.contains("clean "), out)
        XCTAssertTrue(out.contains("images/s"), out)
        XCTAssertTrue(lines.contains { $0.hasPrefix("handle") && $0.contains("adv-") }, out)

        let header = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("index") }, out)
        XCTAssertEqual(lines[header].split(separator: " "),
                       ["index", "label", "target", "adversarial", "success", "L-inf", "L2", "confidence", "iterations"])
        let rows = lines[(header + 2)...].prefix { !$0.isEmpty }
        XCTAssertEqual(rows.count, 10, out)
        for (row, index) in zip(rows, Self.perClass.split(separator: ",")) {
            let cells = row.split(separator: " ")
            XCTAssertEqual(cells.first.map(String.init), String(index), "rows name the dataset index: \(row)")
            XCTAssertEqual(String(cells[1]), String(Self.classOf(Int(index)!)), row)
            XCTAssertTrue(row.contains("✓") || row.contains("✗"), row)
        }
        XCTAssertTrue(out.contains("evaluated on") && lines.contains { $0.hasPrefix("trained") && $0.contains("%") }, "transfer table: \(out)")
        XCTAssertFalse(out.contains("more (--all-rows"), out)
    }

    func testPrettyTableStopsAtTwentyRowsUnlessAllRows() throws {
        try loadModelAndData()
        // 11 images x 2 targets = 22 samples, through the ensemble form of the command.
        let args = ["attack", "--models", "trained:1", "--method", "ensemble-opt", "--dataset", "mnist-test",
                    "--indices", Self.perClass + ",10", "--target", "leastLikely", "--targets-per-image", "2", "--steps", "5", "--pretty"]
        let capped = shell.run(args)
        XCTAssertEqual(capped.status, 0, capped.stderr)
        XCTAssertTrue(capped.stdout.contains("... 2 more (--all-rows shows every row)"), capped.stdout)
        XCTAssertTrue(capped.stdout.contains("targeted (leastLikely), 2 targets per image"), capped.stdout)
        XCTAssertTrue(capped.stdout.contains("ensemble-opt on trained ("), "a one-model ensemble is that model: \(capped.stdout)")
        let all = shell.run(args + ["--all-rows"])
        XCTAssertEqual(all.status, 0, all.stderr)
        XCTAssertFalse(all.stdout.contains("more (--all-rows"), all.stdout)
        let lines = all.stdout.split(separator: "\n").map(String.init)
        let header = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("index") })
        XCTAssertEqual(lines[(header + 2)...].prefix { $0.contains("✓") || $0.contains("✗") }.count, 22, all.stdout)
    }

    // MARK: --png

    func testPNGsAreWrittenRelativeToTheCurrentDirectory() throws {
        try loadModelAndData()
        // Run from the test's private directory: --png pngs lands there.
        let here = shell.directory
        let result = ok(pgd("0,1,2,3", ["--png", "pngs", "--png-limit", "3", "--png-scale", "2"]), directory: here)
        let handle = try XCTUnwrap(result["handle"]?.stringValue)
        let paths = try XCTUnwrap(result["png"]?.arrayValue?.compactMap(\.stringValue))
        XCTAssertEqual(paths.count, 3, "--png-limit 3")
        let expectedDirectory = here.appendingPathComponent("pngs").resolvingSymlinksInPath().path
        for (i, path) in paths.enumerated() {
            XCTAssertEqual(URL(fileURLWithPath: path).deletingLastPathComponent().resolvingSymlinksInPath().path, expectedDirectory)
            XCTAssertTrue(path.hasSuffix("\(handle)-\(i).png"), path)
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            XCTAssertEqual(Array(bytes.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "PNG signature of \(path)")
            XCTAssertEqual(Array(bytes[12..<16]), Array("IHDR".utf8))
            let width = bytes[16..<20].reduce(0) { $0 << 8 | Int($1) }, height = bytes[20..<24].reduce(0) { $0 << 8 | Int($1) }
            XCTAssertGreaterThan(height, 28 * 2, "--png-scale 2: the panels, and captions below them")
            XCTAssertGreaterThanOrEqual(width, 3 * 28 * 2, "original | adversarial | perturbation")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: expectedDirectory).filter { $0.hasSuffix(".png") }.count, 3)

        // --pretty lists the files as the user named the directory.
        let pretty = shell.run(pgd("0", ["--png", "pngs", "--pretty"]), directory: here)
        XCTAssertEqual(pretty.status, 0, pretty.stderr)
        XCTAssertTrue(pretty.stdout.contains("1 PNG file") && pretty.stdout.contains("\n  pngs/adv-"), pretty.stdout)

        // A directory outside the current one is written where the user points (issue 18,
        // item 6: the user's own daemon is not confined); with --root it is refused.
        let elsewhere = here.deletingLastPathComponent().appendingPathComponent("elsewhere-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: elsewhere) }
        let outside = shell.run(pgd("0", ["--png", "../" + elsewhere.lastPathComponent]), directory: here)
        XCTAssertEqual(outside.status, 0, outside.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: elsewhere.path).filter { $0.hasSuffix(".png") }.count, 1)
        let confined = shell.run(pgd("0", ["--png", "../elsewhere", "--root", "."]), directory: here)
        XCTAssertEqual(confined.status, 1)
        XCTAssertTrue(confined.stderr.contains("(code -32013)"), confined.stderr)
    }

    // MARK: handles

    func testHandleListPredictAndDrop() throws {
        try loadModelAndData()
        let attack = ok(pgd("0,1,2,3,4,5,6,7"))
        let handle = try XCTUnwrap(attack["handle"]?.stringValue)
        let robust = try XCTUnwrap(attack["summary"]?["robustAccuracy"]?.doubleValue)

        let list = ok(["handle", "list"])
        let entry = try XCTUnwrap(list["handles"]?.arrayValue?.first { $0["handle"]?.stringValue == handle }, "\(list)")
        XCTAssertEqual(entry["count"]?.intValue, 8)
        XCTAssertEqual(entry["kind"], "attack pgd")
        XCTAssertEqual(entry["imageShape"], [1, 28, 28])
        XCTAssertTrue(entry["provenance"]?.stringValue?.contains("trained") == true)
        XCTAssertGreaterThan(list["totalBytes"]?.intValue ?? 0, 0)
        let pretty = shell.run(["handle", "list", "--pretty"])
        XCTAssertEqual(pretty.status, 0, pretty.stderr)
        XCTAssertTrue(pretty.stdout.split(separator: "\n").contains { $0.hasPrefix(handle + " ") && $0.contains("attack pgd") && $0.contains("trained") },
                      pretty.stdout)

        // predict --handle: the adversarial batch with the labels it was made for.
        let predicted = ok(["predict", "--model", "trained", "--handle", handle])
        XCTAssertEqual(predicted["count"]?.intValue, 8)
        XCTAssertEqual(try XCTUnwrap(predicted["accuracy"]?.doubleValue), robust, accuracy: 1e-9,
                       "the model's accuracy on the kept batch is the attack's robust accuracy")
        XCTAssertEqual(ok(["predict", "--model", "trained", "--handle", handle, "--indices", "1,2"])["count"]?.intValue, 2)
        let table = shell.run(["predict", "--model", "trained", "--handle", handle, "--pretty"])
        XCTAssertEqual(table.status, 0, table.stderr)
        XCTAssertTrue(table.stdout.contains("8 inputs, accuracy"), table.stdout)

        // drop: gone from the list, and predict on it fails.
        let dropped = shell.run(["handle", "drop", handle])
        XCTAssertEqual(dropped.status, 0, dropped.stderr)
        XCTAssertFalse(ok(["handle", "list"])["handles"]?.arrayValue?.contains { $0["handle"]?.stringValue == handle } ?? true)
        let gone = shell.run(["predict", "--model", "trained", "--handle", handle])
        XCTAssertEqual(gone.status, 1)
        XCTAssertEqual(gone.stdout, "")
        XCTAssertTrue(gone.stderr.contains(handle) && gone.stderr.contains("(code -32001)"), gone.stderr)
        XCTAssertEqual(shell.run(["handle", "drop", handle]).status, 1, "dropping twice is an error")
    }

    // MARK: errors

    func testBadParametersExitOneAndUsageErrorsExitTwo() throws {
        for arguments in [["attack", "--model", "m", "--method", "pgd"],                                    // no inputs
                          ["attack", "--method", "pgd", "--dataset", "d", "--all"],                          // no model
                          ["attack", "--model", "m", "--models", "a,b", "--method", "pgd", "--dataset", "d", "--all"],
                          ["attack", "--model", "m", "--dataset", "d", "--all"],                             // no method
                          ["attack", "--model", "m", "--method", "pgd", "--dataset", "d", "--all", "--target", "nine"],
                          ["attack", "--model", "m", "--method", "pgd", "--dataset", "d", "--all", "--png-limit", "3"],
                          ["attack", "--model", "m", "--method", "pgd", "--dataset", "d", "--all", "--epsilon", "big"],
                          ["attack", "--model", "m", "--method", "pgd", "--input", "x.png", "--handle", "adv-1"],
                          ["predict", "--model", "m", "--handle", "adv-1", "--indices", "0", "--all"],
                          ["handle", "drop"], ["handle", "drop", "a", "b"]] {
            let r = shell.run(arguments)
            XCTAssertEqual(r.status, 2, "\(arguments): \(r.stderr)")
            XCTAssertFalse(r.stderr.isEmpty)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: shell.socket), "usage errors never start a daemon")

        try loadModelAndData()
        // "-1" is the option's value (not an option), and the daemon names the field it refuses.
        let negative = shell.run(["attack", "--model", "trained", "--method", "pgd", "--dataset", "mnist-test", "--indices", "0,1",
                                  "--epsilon", "-1", "--steps", "10"])
        XCTAssertEqual(negative.status, 1, negative.stderr)
        XCTAssertEqual(negative.stdout, "")
        XCTAssertTrue(negative.stderr.contains("params.epsilon") && negative.stderr.contains("(code -32602)"), negative.stderr)

        let method = shell.run(["attack", "--model", "trained", "--method", "nope", "--dataset", "mnist-test", "--indices", "0"])
        XCTAssertEqual(method.status, 1)
        XCTAssertTrue(method.stderr.contains("params.method"), method.stderr)
        let model = shell.run(["attack", "--model", "absent", "--method", "pgd", "--dataset", "mnist-test", "--indices", "0"])
        XCTAssertEqual(model.status, 1)
        XCTAssertTrue(model.stderr.contains("(code -32001)"), model.stderr)
    }

    // MARK: Ctrl-C

    func testCtrlCPrintsThePartialResultAndExits130() throws {
        try loadModelAndData()
        // The bigger architecture and 100,000 steps without early stopping: it cannot finish
        // before the interrupt that follows its first progress report.
        ok(["model", "create", "slow", "--arch", "mnist-madry", "--seed", "0"])
        for pretty in [false, true] {
            var interruptedWhileRunning = false
            let args = ["attack", "--model", "slow", "--method", "pgd", "--dataset", "mnist-test", "--indices", "0-15",
                        "--steps", "100000", "--no-early-stop", "--progress"] + (pretty ? ["--pretty"] : [])
            let r = shell.run(args, timeout: 600) { process, stderr in
                // Ctrl-C after the first progress report (the deadlines only guard against a hang).
                let deadline = Date(timeIntervalSinceNow: 600)
                while process.isRunning && Date() < deadline && !stderr().contains("iteration ") { usleep(2_000) }
                if process.isRunning {
                    interruptedWhileRunning = true
                    process.interrupt()
                }
            }
            XCTAssertTrue(interruptedWhileRunning, "the attack finished before it could be interrupted")
            XCTAssertEqual(r.status, 130, r.stderr)
            XCTAssertTrue(r.stderr.contains("cancelling attack"), r.stderr)
            XCTAssertTrue(r.stderr.contains("advlens: interrupted"), r.stderr)
            if pretty {
                XCTAssertTrue(r.stdout.contains("stopped   early (cancelled)"), r.stdout)
                XCTAssertTrue(r.stdout.contains("handle    adv-"), r.stdout)
                XCTAssertTrue(r.stdout.contains("iterations"), r.stdout)
            } else {
                let partial = try XCTUnwrap(r.json, "the partial result as JSON: \(r.stdout)")
                XCTAssertEqual(partial["summary"]?["stoppedEarly"], true)
                XCTAssertEqual(partial["samples"]?.arrayValue?.count, 16)
                let handle = try XCTUnwrap(partial["handle"]?.stringValue)
                XCTAssertTrue(ok(["handle", "list"])["handles"]?.arrayValue?.contains { $0["handle"]?.stringValue == handle } == true,
                              "the partial batch is kept")
            }
        }
        // The daemon lives on with its models.
        XCTAssertEqual(ok(["model", "list"])["models"]?.arrayValue?.count, 2)
    }

    // MARK: daemon stop

    /// `advlens daemon stop` during an attack (issue 14): the daemon gives the attack its drain
    /// time, then cancels it and answers with the partial result, which the attacking client
    /// prints; the kept handle survives into the next daemon.
    func testDaemonStopDuringAnAttackDeliversThePartialResult() throws {
        try loadModelAndData()
        ok(["model", "create", "slow", "--arch", "mnist-madry", "--seed", "0"])
        var stop: ShellResult?
        let args = ["attack", "--model", "slow", "--method", "pgd", "--dataset", "mnist-test", "--indices", "0-7",
                    "--steps", "100000", "--no-early-stop", "--progress"]
        let r = shell.run(args, timeout: 600) { process, stderr in
            let deadline = Date(timeIntervalSinceNow: 600)   // a hang guard only
            while process.isRunning && Date() < deadline && !stderr().contains("iteration ") { usleep(2_000) }
            if process.isRunning { stop = self.shell.run(["daemon", "stop"], timeout: 60) }
        }
        let stopped = try XCTUnwrap(stop, "the attack finished before the daemon could be stopped")
        XCTAssertEqual(stopped.status, 0, stopped.stderr)
        XCTAssertEqual(stopped.json?["stopped"], true, stopped.stdout)
        XCTAssertFalse(stopped.stdout.contains("killed"), "stopped by SIGTERM, not SIGKILL: \(stopped.stdout)")
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("request cancelled: the daemon is stopping (partial result above)"), r.stderr)
        let partial = try XCTUnwrap(r.json, "the partial result as JSON: \(r.stdout)")
        XCTAssertEqual(partial["summary"]?["stoppedEarly"], true)
        XCTAssertEqual(partial["samples"]?.arrayValue?.count, 8)
        let handle = try XCTUnwrap(partial["handle"]?.stringValue)
        // The next command starts a new daemon on the same cache database: the handle is there.
        // (A failure prints both daemons' logs. A hang here once came from the socket server losing
        // a client whose descriptor number it had just reused; bench/connection_churn.py checks it.)
        let list = shell.run(["handle", "list"], timeout: 60)
        let logs = [shell.logFile + ".1", shell.logFile].map { (try? String(contentsOfFile: $0, encoding: .utf8)) ?? "(none)" }
        XCTAssertEqual(list.status, 0, "handle list: \(list.stderr)\nlogs:\n\(logs.joined(separator: "\n---\n").suffix(4000))")
        XCTAssertTrue(list.json?["handles"]?.arrayValue?.contains { $0["handle"]?.stringValue == handle } == true,
                      "the partial batch is kept across the restart")
    }

    // MARK: samples

    /// `--sample N` takes a seeded sample of the dataset's images (issue 16); `--stratified`
    /// covers every class; the options need --dataset and --sample.
    func testSampleOptionsDrawASeededStratifiedSample() throws {
        try loadModelAndData()
        let args = ["predict", "--model", "trained", "--dataset", "mnist-test", "--sample", "20", "--stratified", "--sample-seed", "3"]
        let first = ok(args)
        let labels = first["predictions"]?.arrayValue?.compactMap { $0["label"]?.intValue } ?? []
        XCTAssertEqual(labels.count, 20)
        XCTAssertEqual(Set(labels), Set(0..<10), "a stratified sample of 20 holds every class")
        XCTAssertEqual(ok(args)["predictions"], first["predictions"], "the same seed draws the same images")
        for bad in [["predict", "--model", "trained", "--dataset", "mnist-test", "--all", "--sample-seed", "3"],
                    ["predict", "--model", "trained", "--handle", "adv-1", "--sample", "5"]] {
            let r = shell.run(bad)
            XCTAssertEqual(r.status, 2, "\(bad): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("--sample"), r.stderr)
        }
    }
}
