import Foundation
import RPC
import XCTest

/// explainPrediction through the real binary: every method, the comparison with a clean twin,
/// heatmap PNGs under the root, capabilities and errors that name the field.
final class ExplainTests: XCTestCase {
    static let weights = "Tests/AttacksTests/Fixtures/mnist-small"

    var capabilities: JSONValue?

    func daemon() throws -> DaemonProcess {
        let d = try DaemonProcess()
        // Confined to the repository (the error cases below name paths outside it).
        capabilities = d.initialize(root: DaemonProcess.repositoryRoot.path)["capabilities"]
        _ = d.call("model/load", ["name": "m", "spec": .string(Self.weights + "/model.json"), "weights": .string(Self.weights + "/model.safetensors")])
        _ = d.call("dataset/load", ["name": "mnist", "kind": "mnist-csv", "path": "data/mnist_5k.csv.gz", "split": ["testPerClass": 100]])
        return d
    }

    func decode(_ t: JSONValue?) -> [Float] {
        guard let s = t?["data"]?.stringValue, let data = Data(base64Encoded: s) else { return [] }
        return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    func testEveryMethodOnADatasetImage() throws {
        let d = try daemon()
        XCTAssertEqual(capabilities?["explainers"]?.arrayValue?.count, 7)
        XCTAssertTrue(capabilities?["methods"]?.arrayValue?.contains("explainPrediction") ?? false)
        let r = d.call("explainPrediction", ["model": "m", "input": ["dataset": "mnist-test", "indices": [7]], "topNeurons": 5, "steps": 64,
                                             "methods": ["influence", "gradientTimesActivation", "saliency", "inputTimesGradient",
                                                         "integratedGradients", "gradCam", "occlusion"]])
        let prediction = r["prediction"]!
        XCTAssertEqual(prediction["class"], prediction["predicted"], "the predicted class is explained by default")
        XCTAssertNotNil(prediction["label"]?.intValue)
        let layers = r["layers"]?.arrayValue ?? []
        XCTAssertEqual(layers.map { $0["layer"]?.stringValue }, ["4", "8"])
        XCTAssertEqual(layers.map { $0["unitCount"]?.intValue }, [32, 128])
        XCTAssertEqual(layers[0]["unitKind"], "channels")
        for l in layers {
            let neurons = l["neurons"]?.arrayValue ?? []
            XCTAssertEqual(neurons.count, 5)
            let drops = neurons.compactMap { $0["logitDrop"]?.doubleValue }
            XCTAssertEqual(drops, drops.sorted(by: >), "ranked by the logit drop")
            XCTAssertGreaterThan(drops[0], 0, "the top unit supports the class")
            XCTAssertNotNil(neurons[0]["probabilityDrop"]?.doubleValue)
            XCTAssertNotNil(neurons[0]["gradientTimesActivation"]?.doubleValue)
            XCTAssertEqual(neurons[0]["concept"]?["method"], "classHistogram", "labels from the input's dataset, which has no masks")
        }
        let maps = r["maps"]!
        for (name, count) in [("saliency", 784), ("inputTimesGradient", 784), ("integratedGradients", 784), ("gradCam", 64), ("occlusion", 784)] {
            XCTAssertEqual(decode(maps[name]?["tensor"]).count, count, name)
        }
        // Completeness through the wire: Σ IG ≈ logit(x) - logit(0).
        let logitZero = d.call("predict", ["model": "m", "inputs": .tensor(shape: [1, 1, 28, 28], values: Array(repeating: 0, count: 784)), "returnLogits": true])
        let c = prediction["class"]!.intValue!
        let gap = prediction["logit"]!.doubleValue! - logitZero["predictions"]![0]!["logits"]![c]!.doubleValue!
        let sum = decode(maps["integratedGradients"]?["tensor"]).reduce(0.0) { $0 + Double($1) }
        XCTAssertEqual(sum, gap, accuracy: 0.01 * abs(gap))
        XCTAssertEqual(maps["integratedGradients"]?["integrationMethod"], "gausslegendre")
        XCTAssertEqual(maps["gradCam"]?["layer"], "4")
        XCTAssertTrue(r["summary"]?.stringValue?.hasPrefix("Predicted ") ?? false)
    }

    /// An adversarial image compared with its clean twin: the units that pushed toward the wrong
    /// class are listed, and the summary names both predictions.
    func testCompareWithTheCleanImage() throws {
        let d = try daemon()
        let attack = d.call("attack", ["model": "m", "method": "pgd", "inputs": ["dataset": "mnist-test", "indices": [3]], "epsilon": 0.3, "steps": 40])
        let handle = try XCTUnwrap(attack["handle"]?.stringValue)
        XCTAssertEqual(attack["samples"]?[0]?["success"], true)
        let wrong = try XCTUnwrap(attack["samples"]?[0]?["adversarialLabel"]?.intValue)
        let dir = "out/test-explain"
        let r = d.call("explainPrediction", ["model": "m", "input": ["handle": .string(handle)], "compareWith": ["dataset": "mnist-test", "indices": [3]],
                                             "methods": ["influence", "saliency", "gradCam"], "return": ["png": .string(dir), "maps": false]])
        XCTAssertEqual(r["prediction"]?["predicted"]?.intValue, wrong)
        let comparison = r["comparison"]!
        XCTAssertNotEqual(comparison["predicted"]?.intValue, wrong)
        let pushed = comparison["layers"]?[0]?["pushedToward"]?.arrayValue ?? []
        XCTAssertFalse(pushed.isEmpty)
        for n in pushed { XCTAssertGreaterThan(n["change"]!.doubleValue!, 0) }
        let summary = comparison["summary"]?.stringValue ?? ""
        XCTAssertTrue(summary.contains("classified as \(wrong)"), summary)
        XCTAssertTrue(summary.contains("Pushing toward \(wrong)"), summary)
        for name in ["saliency", "gradCam"] {
            XCTAssertNil(r["maps"]?[name]?["tensor"])
            let path = r["maps"]?[name]?["png"]?.stringValue ?? ""
            XCTAssertTrue(path.contains("/out/test-explain/"), path)
            let bytes = FileManager.default.contents(atPath: path) ?? Data()
            XCTAssertEqual(Array(bytes.prefix(4)), [0x89, 0x50, 0x4E, 0x47], "\(name): a PNG")
        }
    }

    /// A given class, one layer, a baseline as a number or as the same tensor, a rectangular
    /// occlusion window, and another integration rule.
    func testClassLayerBaselineAndWindowOptions() throws {
        let d = try daemon()
        let image: JSONValue = ["dataset": "mnist-test", "indices": [3]]
        let r = d.call("explainPrediction", ["model": "m", "input": image, "class": 5, "layer": "8", "topNeurons": 128,
                                             "methods": ["gradientTimesActivation", "integratedGradients", "occlusion"],
                                             "baseline": 0.25, "window": [3, 5], "stride": [3, 1], "integrationMethod": "riemann_middle", "steps": 40])
        XCTAssertEqual(r["prediction"]?["class"], 5)
        XCTAssertEqual(r["prediction"]?["predicted"], 3)
        XCTAssertEqual(r["layers"]?.arrayValue?.map { $0["layer"] }, ["8"])
        XCTAssertEqual(r["layers"]?[0]?["rankedBy"], "gradientTimesActivation")
        let contributions = r["layers"]?[0]?["neurons"]?.arrayValue?.compactMap { $0["gradientTimesActivation"]?.doubleValue } ?? []
        XCTAssertEqual(contributions.count, 128)
        XCTAssertEqual(contributions, contributions.sorted(by: >), "ranked by gradient x activation without ablation")
        XCTAssertNil(r["layers"]?[0]?["neurons"]?[0]?["logitDrop"])
        XCTAssertEqual(r["maps"]?["integratedGradients"]?["integrationMethod"], "riemann_middle")
        let asTensor = d.call("explainPrediction", ["model": "m", "input": image, "class": 5, "methods": ["integratedGradients", "occlusion"],
                                                    "baseline": .tensor(shape: [1, 28, 28], values: Array(repeating: 0.25, count: 784)),
                                                    "window": [3, 5], "stride": [3, 1], "integrationMethod": "riemann_middle", "steps": 40])
        for name in ["integratedGradients", "occlusion"] {
            XCTAssertEqual(decode(asTensor["maps"]?[name]?["tensor"]), decode(r["maps"]?[name]?["tensor"]), name)
            XCTAssertEqual(decode(r["maps"]?[name]?["tensor"]).count, 784)
        }
        XCTAssertNotEqual(decode(r["maps"]?["occlusion"]?["tensor"]).first { $0 != 0 }, nil)
    }

    /// A long integrated-gradients run stops at the next batch of path images when cancelled,
    /// and the daemon serves on. explainPrediction sends no progress, so the cancel follows the
    /// request at once, and the work is one no machine finishes before the daemon reads the next
    /// line: 4,096 path images through the larger mnist-madry, plus occlusion at stride 1.
    func testCancelStopsIntegratedGradients() throws {
        let d = try daemon()
        _ = d.call("model/create", ["name": "big", "architecture": "mnist-madry", "seed": 1])
        let id = d.request("explainPrediction", ["model": "big", "input": ["dataset": "mnist-test", "indices": [3]],
                                                 "methods": ["integratedGradients", "occlusion"], "steps": 4096,
                                                 "window": [3, 3], "stride": [1, 1]])
        d.notify("$/cancelRequest", ["id": id])
        let r = d.response(to: id, timeout: 600)
        XCTAssertEqual(r["error"]?["code"]?.intValue, -32800, "\(r)")
        XCTAssertEqual(d.call("explainPrediction", ["model": "m", "input": ["dataset": "mnist-test", "indices": [3]],
                                                    "methods": ["saliency"]])["prediction"]?["label"]?.intValue, 3,
                       "index 3 holds class 3: the default split interleaves the classes")
    }

    func testBadParamsNameTheField() throws {
        let d = try daemon()
        let one: JSONValue = ["dataset": "mnist-test", "indices": [0]]
        for (params, field) in [
            (["model": "m", "input": ["dataset": "mnist-test", "indices": [0, 1]]] as JSONValue, "params.input"),
            (["model": "m", "input": one, "methods": ["telepathy"]], "params.methods[0]"),
            (["model": "m", "input": one, "layers": ["4", "nope"]], "params.layers[1]"),
            (["model": "m", "input": one, "class": 10], "params.class"),
            (["model": "m", "input": one, "methods": ["integratedGradients"], "steps": 0], "params.steps"),
            (["model": "m", "input": one, "methods": ["integratedGradients"], "integrationMethod": "simpson"], "params.integrationMethod"),
            (["model": "m", "input": one, "methods": ["occlusion"], "window": 40], "params.window"),
            (["model": "m", "input": one, "gradCamLayer": "8"], "params.gradCamLayer"),
            (["model": "m", "input": one, "return": ["png": "../outside"]], "params.return.png"),
        ] {
            let e = d.failure("explainPrediction", params)
            XCTAssertTrue(e.message.hasPrefix(field), "\(field): \(e.message)")
        }
        XCTAssertEqual(d.failure("explainPrediction", ["model": "m", "input": one, "class": 10]).code, -32602)
    }
}
