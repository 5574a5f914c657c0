import Foundation
import RPC
import XCTest

/// `advlens train` and `advlens evaluate` against the real daemon: JSON on stdout, the
/// progress bar on stderr, summaries with --pretty, Ctrl-C keeping whole steps.
final class TrainEvaluateCommandTests: XCTestCase {
    var shell: ShellRunner!

    override func setUpWithError() throws {
        shell = try ShellRunner()
        try requireTrue(FileManager.default.fileExists(atPath: ShellRunner.dataFile.path), "data/mnist_5k.csv.gz is missing (make data)")
        ok(["dataset", "load", "mnist", "--kind", "mnist-csv", "--path", "data/mnist_5k.csv.gz", "--split-test-per-class", "20"])
        ok(["model", "create", "m", "--arch", "mnist-small", "--seed", "1"])
    }

    override func tearDown() {
        shell?.cleanUp()
        shell = nil
    }

    @discardableResult
    private func ok(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) -> JSONValue {
        let r = shell.run(arguments)
        XCTAssertEqual(r.status, 0, "advlens \(arguments.joined(separator: " ")) failed: \(r.stderr)", file: file, line: line)
        return r.json ?? .null
    }

    func testTrainShowsProgressAndReturnsTheResult() throws {
        let r = shell.run(["train", "--model", "m", "--dataset", "mnist-train", "--steps", "40", "--batch-size", "32",
                           "--optimizer", "sgd", "--lr", "0.05", "--momentum", "0.9", "--progress"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.json?["steps"], 40)
        XCTAssertEqual(r.json?["stepCount"], 40)
        XCTAssertTrue(r.stderr.contains("trainStep standard ["), "a progress bar on stderr: \(r.stderr)")
        XCTAssertTrue(r.stderr.contains("100%"), r.stderr)
        let first = r.json?["history"]?[0]?["loss"]?.doubleValue ?? 0, last = r.json?["history"]?[39]?["loss"]?.doubleValue ?? 99
        XCTAssertLessThan(last, first, "40 steps of SGD lower the loss")

        let pretty = shell.run(["train", "--model", "m", "--dataset", "mnist-train", "--steps", "2", "--objective", "consistent",
                                "--lambda", "0.1", "--adversary", "pgd", "--epsilon", "0.2", "--attack-steps", "2", "--step-size", "0.1", "--pretty"])
        XCTAssertEqual(pretty.status, 0, pretty.stderr)
        for text in ["consistent, lambda 0.1, layers 8", "adversary pgd epsilon 0.2, 2 steps of 0.1", "sgd lr 0.05, momentum 0.9",
                     "2 (model total 42)", "adversarialCrossEntropy", "featureDistance", "fingerprint"] {
            XCTAssertTrue(pretty.stdout.contains(text), "\(text) in: \(pretty.stdout)")
        }
        let bad = shell.run(["train", "--model", "m", "--dataset", "mnist-train", "--objective", "trades", "--lambda", "1"])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stderr.contains("params.objective.lambda"), bad.stderr)
        XCTAssertEqual(shell.run(["train", "--model", "m", "--dataset", "mnist-train", "--lr", "0.1"]).status, 2, "--lr without --optimizer")
    }

    func testEvaluate() throws {
        ok(["train", "--model", "m", "--dataset", "mnist-train", "--steps", "30", "--optimizer", "adam", "--lr", "0.003"])
        let clean = ok(["evaluate", "--model", "m", "--dataset", "mnist-test"])
        XCTAssertEqual(clean["count"], 200)
        let robust = shell.run(["evaluate", "--model", "m", "--dataset", "mnist-test", "--attack", "fgsm", "--epsilon", "0.3", "--progress", "--pretty"])
        XCTAssertEqual(robust.status, 0, robust.stderr)
        XCTAssertTrue(robust.stdout.contains("clean accuracy"), robust.stdout)
        XCTAssertTrue(robust.stdout.contains("robust accuracy") && robust.stdout.contains("under fgsm"), robust.stdout)
        XCTAssertTrue(robust.stderr.contains("evaluate under fgsm ["), robust.stderr)
    }

    func testEvaluateSeveralAttacksOverACurve() throws {
        ok(["train", "--model", "m", "--dataset", "mnist-train", "--steps", "30", "--optimizer", "adam", "--lr", "0.003"])
        let r = ok(["evaluate", "--model", "m", "--dataset", "mnist-test", "--attacks", "pgd(steps=5,stepSize=0.05,randomStart=false),fgsm",
                    "--epsilons", "0.1,8/255"])
        XCTAssertEqual(r["curve"]?[1]?["epsilon"]?.doubleValue ?? 0, Double(Float(8.0 / 255)), accuracy: 1e-7, "8/255 divided by the shell")
        XCTAssertEqual(r["curve"]?[0]?["attacks"]?[0]?["config"]?["steps"], 5)
        XCTAssertEqual(r["curve"]?[0]?["attacks"]?[0]?["config"]?["randomStart"], false)
        XCTAssertEqual(r["curve"]?[0]?["attacks"]?[1]?["config"]?["method"], "fgsm")
        XCTAssertNotNil(r["checks"]?.arrayValue)
        let pretty = shell.run(["evaluate", "--model", "m", "--dataset", "mnist-test", "--attacks", "pgd(steps=10,stepSize=0.001,randomStart=false),fgsm",
                                "--epsilons", "0.3", "--pretty"])
        XCTAssertEqual(pretty.status, 0, pretty.stderr)
        for text in ["robust cumulative", "0. pgd", "1. fgsm", "warning (iterativeWeakerThanSingleStep)"] {
            XCTAssertTrue(pretty.stdout.contains(text), "\(text) in: \(pretty.stdout)")
        }
        let unknown = shell.run(["evaluate", "--model", "m", "--dataset", "mnist-test", "--attacks", "fgsm,pgdd"])
        XCTAssertEqual(unknown.status, 1)
        XCTAssertTrue(unknown.stderr.contains("params.attacks[1].method"), unknown.stderr)
        let misspelt = shell.run(["evaluate", "--model", "m", "--dataset", "mnist-test", "--attacks", "pgd(stepsize=0.1)"])
        XCTAssertNotEqual(misspelt.status, 0)
        XCTAssertTrue(misspelt.stderr.contains("--attacks[0].stepsize"), misspelt.stderr)
        XCTAssertNotEqual(shell.run(["evaluate", "--model", "m", "--dataset", "mnist-test", "--attacks", "fgsm", "--steps", "3"]).status, 0,
                          "the shared attack options go with --attack")
    }

    func testCtrlCKeepsTheWholeStepsDone() throws {
        var interrupted = false
        let r = shell.run(["train", "--model", "m", "--dataset", "mnist-train", "--steps", "100000", "--objective", "pgd",
                           "--attack-steps", "10", "--progress"], timeout: 600) { process, stderr in
            // Ctrl-C after the first progress report (the deadlines only guard against a hang).
            let deadline = Date(timeIntervalSinceNow: 600)
            while process.isRunning && Date() < deadline && !stderr().contains("step ") { usleep(2_000) }
            if process.isRunning {
                interrupted = true
                process.interrupt()
            }
        }
        try requireTrue(interrupted, "the training finished before it could be interrupted")
        XCTAssertEqual(r.status, 130, r.stderr)
        let steps = try XCTUnwrap(r.json?["steps"]?.intValue, r.stdout)
        XCTAssertGreaterThan(steps, 0)
        XCTAssertEqual(ok(["model", "list"])["models"]?[0]?["trainingSteps"]?.intValue, steps)
    }
}
