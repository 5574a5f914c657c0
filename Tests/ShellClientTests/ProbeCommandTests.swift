import Foundation
import RPC
import XCTest

/// `advlens probe` against the real daemon: JSON by default, readable tables with --pretty,
/// an attack made by the probe and reused by handle, errors from the command line and the daemon.
final class ProbeCommandTests: XCTestCase {
    var shell: ShellRunner!

    override func setUpWithError() throws {
        shell = try ShellRunner()
        try requireTrue(FileManager.default.fileExists(atPath: ShellRunner.dataFile.path), "data/mnist_5k.csv.gz is missing (make data)")
        XCTAssertEqual(shell.run(["model", "create", "m", "--arch", "mnist-small", "--seed", "1"]).status, 0)
        XCTAssertEqual(shell.run(["dataset", "load", "mnist", "--kind", "mnist-csv", "--path", "data/mnist_5k.csv.gz",
                                  "--split-test-per-class", "20"]).status, 0)
    }

    override func tearDown() {
        shell?.cleanUp()
        shell = nil
    }

    func testConsistencyWithAnAttackThenRepresentationOnItsHandle() throws {
        let r = shell.run(["probe", "consistency", "--model", "m", "--layer", "8", "--units", "0-3", "-k", "5", "--dataset", "mnist-test",
                           "--all", "--attack", "pgd", "--targeted", "--steps", "3", "--attack-indices", "0,1,2,3,4,5"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout.filter { $0 == "\n" }.count, 1, "one line of JSON")
        let result = try XCTUnwrap(r.json, r.stdout)
        XCTAssertEqual(result["histograms"]?.arrayValue?.count, 4)
        // The adversarials whose attack failed are left out, and counted.
        XCTAssertEqual((result["adversarialCount"]?.intValue ?? 0) + (result["adversarialExcluded"]?.intValue ?? 0), 6)
        XCTAssertNotNil(result["consistencySummary"]?["allUnits"]?["meanCS1"]?.doubleValue)
        let handle = try XCTUnwrap(result["adversarialHandle"]?.stringValue)

        let pretty = shell.run(["probe", "representation", "--model", "m", "--layer", "8", "--dataset", "mnist-test", "--all",
                                "--adversarial", handle, "--all-adversarials", "--bins", "3", "--pretty"])
        XCTAssertEqual(pretty.status, 0, pretty.stderr)
        for text in ["representation of m, layer 8 [128]", "r(x*)      6 adversarial images", "below 1", "quantiles", "count"] {
            XCTAssertTrue(pretty.stdout.contains(text), "missing \"\(text)\" in:\n\(pretty.stdout)")
        }
        let table = shell.run(["probe", "consistency", "--model", "m", "--layer", "8", "--units", "0-3", "-k", "5", "--dataset", "mnist-test",
                               "--all", "--adversarial", handle, "--all-adversarials", "--pretty"])
        XCTAssertEqual(table.status, 0, table.stderr)
        for text in ["unit    CS1    CS2     LC  p_real", "that fire;", "silent left out", "(A: identity)", "all units"] {
            XCTAssertTrue(table.stdout.contains(text), "missing \"\(text)\" in:\n\(table.stdout)")
        }
    }

    func testTopActivationsTableWithPatches() throws {
        // Inside the workspace root (the current directory: the repository root).
        let relative = "out/shell-probe-\(UUID().uuidString.prefix(8))"
        let dir = ShellRunner.repositoryRoot.appendingPathComponent(relative)
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = shell.run(["probe", "topActivations", "--model", "m", "--layer", "3", "--units", "5", "-k", "2", "--dataset", "mnist-test",
                           "--indices", "0-49", "--patches", relative, "--pretty"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("unit 5\nrank  index  label  value  at (y, x)  input box (rows, cols)  patch"), r.stdout)
        XCTAssertEqual(r.stdout.components(separatedBy: "\n").filter { $0.contains("m-3-u5-") }.count, 2, r.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("m-3-u5-1.png").path))
    }

    func testErrors() throws {
        var r = shell.run(["probe", "histogram", "--model", "m", "--layer", "3", "--dataset", "mnist-test", "--all"])
        XCTAssertEqual(r.status, 1, "the daemon's registry of kinds refuses it")
        XCTAssertTrue(r.stderr.contains("params.kind: unknown \"histogram\"; known: activations, topActivations"), r.stderr)
        r = shell.run(["probe", "activations", "--model", "m", "--layer", "9x", "--dataset", "mnist-test", "--all"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("params.layer") && r.stderr.contains("layers: 0, 1, 2"), r.stderr)
        r = shell.run(["probe", "consistency", "--model", "m", "--layer", "8", "--dataset", "mnist-test", "--all", "--steps", "3"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("need --attack"), r.stderr)
    }
}
