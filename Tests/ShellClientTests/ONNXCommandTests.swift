import Foundation
import RPC
import XCTest

/// `advlens model save --onnx` and `advlens model load --onnx` against the real daemon: the
/// trained fixture written as ONNX and read back predicts as before, with its labels and range
/// from the file; the option combinations the commands refuse before any request.
final class ONNXCommandTests: XCTestCase {
    var shell: ShellRunner!

    override func setUpWithError() throws { shell = try ShellRunner() }

    override func tearDown() {
        shell?.cleanUp()
        shell = nil
    }

    func testSaveAndLoadONNX() throws {
        let model = ShellRunner.trainedModel
        let onnx = shell.directory.appendingPathComponent("trained.onnx").path
        _ = shell.ok(["model", "load", "trained", "--spec", model + "/model.json", "--weights", model + "/model.safetensors"])
        let saved = shell.ok(["model", "save", "trained", "--onnx", onnx]).json
        XCTAssertEqual(saved?["onnx"]?.stringValue, onnx)
        XCTAssertEqual(saved?["onnxBytes"]?.intValue, (try FileManager.default.attributesOfItem(atPath: onnx)[.size] as? Int))
        XCTAssertNil(saved?["spec"], "only the ONNX file was asked for")
        let loaded = shell.ok(["model", "load", "back", "--onnx", onnx]).json
        XCTAssertEqual(loaded?["classes"]?.arrayValue?.count, 10)
        _ = shell.ok(["dataset", "load", "mnist", "--kind", "mnist-csv", "--path", "data/mnist_5k.csv.gz", "--split-test-per-class", "5"])
        let a = shell.ok(["predict", "--model", "trained", "--dataset", "mnist-test", "--all"]).json?["predictions"]?.arrayValue?.compactMap { $0["predicted"]?.intValue }
        let b = shell.ok(["predict", "--model", "back", "--dataset", "mnist-test", "--all"]).json?["predictions"]?.arrayValue?.compactMap { $0["predicted"]?.intValue }
        XCTAssertEqual(a?.count, 50)
        XCTAssertEqual(a, b)
        let labelled = shell.ok(["model", "load", "labelled", "--onnx", onnx, "--classes"] + (0..<10).map { "d\($0)" } + ["--input-range", "0", "2"]).json
        XCTAssertEqual(labelled?["classes"]?.arrayValue?.first?.stringValue, "d0")
        XCTAssertEqual(shell.ok(["model", "info", "labelled"]).json?["input"]?["range"]?.arrayValue?.compactMap(\.doubleValue), [0, 2])
    }

    func testOptionsThatDoNotGoTogetherAreRefused() {
        for (arguments, message) in [(["model", "load", "m"], "give --spec and --weights, or --onnx"),
                                     (["model", "load", "m", "--onnx", "a.onnx", "--spec", "s.json"], "--onnx replaces --spec and --weights"),
                                     (["model", "save", "m"], "give --spec and --weights, --onnx, or all three"),
                                     (["model", "save", "m", "--spec", "s.json", "--onnx", "a.onnx"], "--spec and --weights go together")] {
            let r = shell.run(arguments)
            XCTAssertEqual(r.status, 2, "\(arguments): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(message), "\(arguments): \(r.stderr)")
        }
    }
}
