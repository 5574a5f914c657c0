import Foundation
import RPC
import XCTest

/// `advlens explain` against the real daemon, on the trained mnist-small of the attack fixtures:
/// JSON output, the readable report with heatmap PNGs, the comparison with a clean image, and
/// command-line errors.
final class ExplainCommandTests: XCTestCase {
    var shell: ShellRunner!

    override func setUpWithError() throws {
        shell = try ShellRunner()
        try requireTrue(FileManager.default.fileExists(atPath: ShellRunner.dataFile.path), "data/mnist_5k.csv.gz is missing (make data)")
        let model = ShellRunner.trainedModel
        XCTAssertEqual(shell.run(["model", "load", "trained", "--spec", model + "/model.json", "--weights", model + "/model.safetensors"]).status, 0)
        XCTAssertEqual(shell.run(["dataset", "load", "mnist", "--kind", "mnist-csv", "--path", "data/mnist_5k.csv.gz",
                                  "--split-test-per-class", "100", "--split-seed", "0"]).status, 0)
    }

    override func tearDown() {
        shell?.cleanUp()
        shell = nil
    }

    func testJSONOutputNamesThePredictionAndTheUnits() throws {
        let r = shell.run(["explain", "--model", "trained", "--dataset", "mnist-test", "--indices", "3", "--top", "4"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try XCTUnwrap(r.json)
        XCTAssertEqual(json["prediction"]?["predicted"], 3)
        XCTAssertEqual(json["layers"]?.arrayValue?.map { $0["neurons"]?.arrayValue?.count ?? 0 }, [4, 4])
        XCTAssertNil(json["maps"]?["saliency"]?["tensor"], "tensors only with --maps")
        XCTAssertNotNil(shell.run(["explain", "--model", "trained", "--dataset", "mnist-test", "--indices", "3", "--maps",
                                   "--methods", "saliency"]).json?["maps"]?["saliency"]?["tensor"]?["data"]?.stringValue)
    }

    /// --pretty: prediction, a table per layer, the heatmap files (written, relative to the
    /// current directory) and, against the clean image, the units that pushed toward the wrong class.
    func testPrettyReportWithHeatmapsAndComparison() throws {
        let attack = shell.run(["attack", "--model", "trained", "--method", "pgd", "--dataset", "mnist-test", "--indices", "3",
                                "--epsilon", "0.3", "--step-size", "0.05", "--steps", "10"])
        XCTAssertEqual(attack.status, 0, attack.stderr)
        let handle = try XCTUnwrap(attack.json?["handle"]?.stringValue)
        let wrong = try XCTUnwrap(attack.json?["samples"]?[0]?["adversarialLabel"]?.intValue)
        XCTAssertNotEqual(wrong, 3)
        let dir = shell.directory.appendingPathComponent("work")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let r = shell.run(["explain", "--model", "trained", "--handle", handle, "--indices", "0", "--compare-dataset", "mnist-test",
                           "--compare-index", "3", "--png", "heat", "--pretty"], directory: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("prediction     \(wrong) ("), r.stdout)
        XCTAssertTrue(r.stdout.contains("layer 4: top 10 of 32 channels, ranked by logit drop when zeroed"), r.stdout)
        XCTAssertTrue(r.stdout.contains("layer 8: top 10 of 128 units"), r.stdout)
        XCTAssertTrue(r.stdout.contains("pushed toward \(wrong) more than in the comparison image"), r.stdout)
        XCTAssertTrue(r.stdout.contains("The input is classified as \(wrong)"), r.stdout)
        for method in ["saliency", "gradCam"] {
            let line = try XCTUnwrap(r.stdout.split(separator: "\n").first { $0.hasPrefix("  \(method): heat/") }, r.stdout)
            let path = dir.appendingPathComponent(String(line.dropFirst("  \(method): ".count))).path
            XCTAssertEqual(Array((FileManager.default.contents(atPath: path) ?? Data()).prefix(4)), [0x89, 0x50, 0x4E, 0x47], path)
        }
    }

    func testSeveralImagesInOneRequest() throws {
        // Several indices: one request (issue 18, item 10), a report per image, a class per image.
        let r = shell.run(["explain", "--model", "trained", "--dataset", "mnist-test", "--indices", "1,2", "--classes", "3,5",
                           "--methods", "influence,saliency", "--pretty"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("== image 0") && r.stdout.contains("== image 1"), r.stdout)
        XCTAssertTrue(r.stdout.contains("class 3: probability") && r.stdout.contains("class 5: probability"), r.stdout)
        let json = shell.run(["explain", "--model", "trained", "--dataset", "mnist-test", "--indices", "1-3"])
        XCTAssertEqual(json.status, 0, json.stderr)
        XCTAssertEqual(json.json?["explanations"]?.arrayValue?.count, 3)
    }

    func testErrors() throws {
        var r = shell.run(["explain", "--model", "trained", "--dataset", "mnist-test", "--indices", "1,2", "--classes", "3"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("params.classes: 1 classes for 2 images"), r.stderr)
        r = shell.run(["explain", "--model", "trained", "--dataset", "mnist-test", "--indices", "1", "--methods", "magic"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("params.methods[0]"), r.stderr)
        r = shell.run(["explain", "--model", "trained", "--dataset", "mnist-test", "--indices", "1", "--compare-dataset", "mnist-test"])
        XCTAssertEqual(r.status, 2, "a command-line error")
    }
}
