import Foundation
import RPC
import XCTest

/// The command line as a researcher types it (issue 18, item 11): budgets as fractions
/// (`--epsilon 8/255`), and every option that has a default shows it in `--help` (attack
/// parameters list each method's, read from the Attacks registry).
final class HelpAndFractionTests: XCTestCase {
    var shell: ShellRunner!

    override func setUpWithError() throws { shell = try ShellRunner() }

    override func tearDown() {
        shell?.cleanUp()
        shell = nil
    }

    /// The options a command requires: those its usage line names outside brackets.
    func required(_ help: String) -> Set<String> {
        guard let usage = help.split(separator: "\n").first(where: { $0.hasPrefix("USAGE:") }) else { return [] }
        var depth = 0, word = "", out = Set<String>()
        for ch in usage + " " {
            if ch == "[" { depth += 1 } else if ch == "]" { depth -= 1 }
            if ch == " " || ch == "[" || ch == "]" {
                if depth == 0 && word.hasPrefix("--") { out.insert(word) }
                word = ""
            } else { word.append(ch) }
        }
        return out
    }

    /// Each option of the help's OPTIONS section that takes a value: its name and its text.
    func options(_ help: String) -> [(name: String, text: String)] {
        var out: [(String, String)] = [], inOptions = false
        for line in help.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line.hasPrefix("OPTIONS:") { inOptions = true; continue }
            guard inOptions else { continue }
            if line.hasPrefix("  --") || line.hasPrefix("  -") {
                out.append((String(line.dropFirst(2).prefix { $0 != " " && $0 != "/" }), line))
            } else if line.hasPrefix(" "), !out.isEmpty {
                out[out.count - 1].1 += " " + line.trimmingCharacters(in: .whitespaces)
            }
        }
        return out.filter { $0.1.contains("<") }
    }

    func testEveryOptionWithADefaultShowsIt() {
        // Choices among alternatives, which have no default: where images come from, what to
        // compare with, attack's --model or --models, the files a dataset kind reads.
        let choices: Set<String> = ["--input", "--dataset", "--handle", "--indices", "--labels", "--compare-input", "--compare-dataset",
                                    "--compare-handle", "--compare-index", "--model", "--models", "--path", "--images",
                                    "--spec", "--weights", "--onnx"]
        let commands = [["predict"], ["attack"], ["probe"], ["explain"], ["train"], ["model", "create"], ["model", "load"], ["model", "save"],
                        ["dataset", "load"], ["handle", "list"], ["cache", "stats"], ["daemon", "start"]]
        for command in commands {
            let r = shell.run(command + ["--help"])
            XCTAssertEqual(r.status, 0, "\(command): \(r.stderr)")
            let needed = required(r.stdout)
            for (name, text) in options(r.stdout) where !needed.contains(name) && !choices.contains(name) {
                XCTAssertTrue(text.lowercased().contains("default"), "advlens \(command.joined(separator: " ")) --help: \(name) shows no default: \(text)")
            }
        }
        let attack = shell.run(["attack", "--help"]).stdout
        XCTAssertTrue(attack.contains("8/255") && attack.contains("pgd 0.3 (l2: 2)"), attack)
    }

    func testEpsilonTakesFractions() throws {
        let model = ShellRunner.trainedModel
        XCTAssertEqual(shell.run(["model", "load", "trained", "--spec", model + "/model.json", "--weights", model + "/model.safetensors"]).status, 0)
        XCTAssertEqual(shell.run(["dataset", "load", "mnist", "--kind", "mnist-csv", "--path", "data/mnist_5k.csv.gz", "--split-test-per-class", "10"]).status, 0)
        let r = shell.run(["attack", "--model", "trained", "--method", "pgd", "--dataset", "mnist-test", "--indices", "0-3",
                           "--epsilon", "8/255", "--step-size", "2/255", "--steps", "3"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let config = try XCTUnwrap(r.json?["config"])
        XCTAssertEqual(try XCTUnwrap(config["epsilon"]?.doubleValue), 8.0 / 255, accuracy: 1e-7)
        XCTAssertEqual(try XCTUnwrap(config["stepSize"]?.doubleValue), 2.0 / 255, accuracy: 1e-7)
        let linf = try XCTUnwrap(r.json?["samples"]?.arrayValue).compactMap { $0["linf"]?.doubleValue }
        XCTAssertTrue(linf.allSatisfy { $0 <= 8.0 / 255 + 1e-6 }, "\(linf)")
        for bad in ["8/0", "8/", "eight", "1/2/3"] {
            let e = shell.run(["attack", "--model", "trained", "--method", "fgsm", "--dataset", "mnist-test", "--indices", "0", "--epsilon", bad])
            XCTAssertEqual(e.status, 2, bad)
            XCTAssertTrue(e.stderr.contains("fraction such as 8/255"), e.stderr)
        }
    }
}
