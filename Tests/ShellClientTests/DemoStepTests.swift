import Foundation
import RPC
import XCTest

/// `make demo`'s attack step (scripts/demo.sh, step 5) run as the script has it, against the
/// attack fixture model in place of the demo's freshly trained one: its table has rows (issue
/// 18, item 12: the step printed the header and no row).
final class DemoStepTests: XCTestCase {
    func testAttackStepPrintsTheFirstRowsOfItsTable() throws {
        let shell = try ShellRunner()
        defer { shell.cleanUp() }
        let script = try String(contentsOf: ShellRunner.repositoryRoot.appendingPathComponent("scripts/demo.sh"), encoding: .utf8)
        // The step's command: from the line after its "== 5." echo to the next echo.
        let lines = script.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let start = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("echo \"== 5.") }) + 1
        let end = try XCTUnwrap(lines[start...].firstIndex { $0.hasPrefix("echo ") })
        let command = lines[start..<end].joined(separator: "\n")
        XCTAssertTrue(command.contains("--pretty attack"), command)

        let model = ShellRunner.trainedModel
        XCTAssertEqual(shell.run(["model", "load", "mnist-small", "--spec", model + "/model.json", "--weights", model + "/model.safetensors"]).status, 0)
        XCTAssertEqual(shell.run(["dataset", "load", "mnist", "--kind", "mnist-csv", "--path", "data/mnist_5k.csv.gz",
                                  "--split-test-per-class", "100", "--split-seed", "0"]).status, 0)
        let out = shell.directory.appendingPathComponent("demo-out").path
        let bash = Process()
        bash.executableURL = URL(fileURLWithPath: "/bin/bash")
        bash.currentDirectoryURL = shell.directory
        bash.arguments = ["-c", "set -euo pipefail; ADV=(\"$0\" --socket \"$1\"); " + command.replacingOccurrences(of: "out/demo/pgd", with: out),
                          ShellRunner.binary.path, shell.socket]
        let pipe = Pipe()
        bash.standardOutput = pipe
        try bash.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        bash.waitUntilExit()
        XCTAssertEqual(bash.terminationStatus, 0, text)
        let rows = text.split(separator: "\n").filter { $0.contains("✓") || $0.contains("✗") }
        XCTAssertEqual(rows.count, 5, "the first five rows of the per-sample table: \(text)")
        XCTAssertTrue(text.contains("index  label") && text.contains("... 95 more"), text)
    }
}
