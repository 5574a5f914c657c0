import Foundation
import RPC
import XCTest

/// explainPrediction on several images at once (issue 18, item 10), like Captum's
/// `attribute(x_batch, target=...)`: one explanation per image, each the one a request for that
/// image alone gives (the batch's shared gradient pass is one forward and one backward over all
/// images, which in eval mode do not interact), a class per image, and errors naming the field.
final class ExplainBatchTests: XCTestCase {
    let indices = [30, 252, 474, 717]
    let methods: JSONValue = ["influence", "gradientTimesActivation", "saliency", "inputTimesGradient", "gradCam", "integratedGradients"]

    func daemon() throws -> DaemonProcess {
        let d = try DaemonProcess()
        _ = d.initialize()
        _ = d.call("model/load", ["name": "m", "spec": .string(ExplainTests.weights + "/model.json"), "weights": .string(ExplainTests.weights + "/model.safetensors")])
        _ = d.call("dataset/load", ["name": "mnist", "kind": "mnist-csv", "path": "data/mnist_5k.csv.gz", "split": ["testPerClass": 100]])
        return d
    }

    func floats(_ t: JSONValue?) -> [Float] {
        guard let s = t?["data"]?.stringValue, let data = Data(base64Encoded: s) else { return [] }
        return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    /// `a` and `b` (walked together) equal in every number, string and structure: the engine
    /// rounds an image's arithmetic the same way in any batch (every product on AdvLens' own
    /// GEMM, `PackedMatrix`), so a batch's explanation of an image
    /// is bit for bit the one a request for that image alone gives.
    func assertSame(_ a: JSONValue?, _ b: JSONValue?, _ path: String) {
        switch (a, b) {
        case let (.object(x)?, .object(y)?):
            XCTAssertEqual(Set(x.keys), Set(y.keys), path)
            for k in x.keys where k != "tensor" { assertSame(x[k], y[k], path + "." + k) }
        case let (.array(x)?, .array(y)?):
            XCTAssertEqual(x.count, y.count, path)
            for (i, (u, v)) in zip(x, y).enumerated() { assertSame(u, v, path + "[\(i)]") }
        case let (x?, y?) where x.doubleValue != nil && y.doubleValue != nil:
            XCTAssertEqual(x.doubleValue!, y.doubleValue!, path)
        default:
            XCTAssertEqual(a, b, path)
        }
    }

    func assertSameExplanation(_ batch: JSONValue, _ alone: JSONValue, _ what: String) {
        assertSame(batch["prediction"], alone["prediction"], what + " prediction")
        assertSame(batch["layers"], alone["layers"], what + " layers")
        assertSame(batch["comparison"], alone["comparison"], what + " comparison")
        for name in ["saliency", "inputTimesGradient", "gradCam", "integratedGradients"] where alone["maps"]?[name] != nil {
            let (a, b) = (floats(batch["maps"]?[name]?["tensor"]), floats(alone["maps"]?[name]?["tensor"]))
            XCTAssertEqual(a.count, b.count, "\(what) \(name)")
            XCTAssertFalse(a.isEmpty, "\(what) \(name)")
            if let i = a.indices.first(where: { i in i < b.count && a[i] != b[i] }) {
                XCTFail("\(what) \(name)[\(i)]: \(a[i]) in the batch, \(b[i]) alone")
            }
        }
    }

    func testSeveralImagesEachExplainedAsAlone() throws {
        let d = try daemon()
        // Per-image targets: the second image explained for class 2 whatever it predicts.
        let classes = [0, 2, 4, 7]
        let r = d.call("explainPrediction", ["model": "m", "inputs": ["dataset": "mnist-test", "indices": .array(indices.map { JSONValue($0) })],
                                             "classes": .array(classes.map { JSONValue($0) }), "methods": methods, "topNeurons": 4, "steps": 16])
        let each = try XCTUnwrap(r["explanations"]?.arrayValue)
        XCTAssertEqual(each.count, 4)
        XCTAssertNil(r["prediction"], "a batch reply lists its explanations")
        XCTAssertNotNil(r["elapsedMs"]?.doubleValue)
        XCTAssertNotNil(r["timingsMs"]?["gradientPass"]?.doubleValue)
        for (i, index) in indices.enumerated() {
            XCTAssertEqual(each[i]["prediction"]?["class"]?.intValue, classes[i])
            XCTAssertEqual(each[i]["prediction"]?["label"]?.intValue, index % 10, "the default split interleaves the classes: index i holds class i mod 10")
            let alone = d.call("explainPrediction", ["model": "m", "input": ["dataset": "mnist-test", "indices": [JSONValue(index)]],
                                                     "class": JSONValue(classes[i]), "methods": methods, "topNeurons": 4, "steps": 16])
            assertSameExplanation(each[i], alone, "image \(index)")
        }
    }

    func testBatchWithoutClassesExplainsEachPredictionAndComparesPairwise() throws {
        let d = try daemon()
        // Two digits the model gets right and FGSM turns: the comparison has real changes to rank.
        let adv = d.call("attack", ["model": "m", "method": "fgsm", "epsilon": 0.3, "inputs": ["dataset": "mnist-test", "indices": [0, 300]]])
        let handle = try XCTUnwrap(adv["handle"]?.stringValue)
        XCTAssertEqual(adv["samples"]?.arrayValue?.compactMap { $0["success"]?.boolValue }, [true, true])
        let r = d.call("explainPrediction", ["model": "m", "inputs": ["handle": .string(handle)], "methods": ["influence", "saliency"],
                                             "compareWith": ["dataset": "mnist-test", "indices": [0, 300]], "topNeurons": 3])
        let each = try XCTUnwrap(r["explanations"]?.arrayValue)
        XCTAssertEqual(each.count, 2)
        for (i, e) in each.enumerated() {
            XCTAssertEqual(e["prediction"]?["class"], e["prediction"]?["predicted"])
            let alone = d.call("explainPrediction", ["model": "m", "input": ["handle": .string(handle), "indices": [JSONValue(i)]],
                                                     "methods": ["influence", "saliency"], "topNeurons": 3,
                                                     "compareWith": ["dataset": "mnist-test", "indices": [JSONValue(i * 300)]]])
            assertSameExplanation(e, alone, "image \(i)")
        }
    }

    func testErrorsNameTheField() throws {
        let d = try daemon()
        let four: JSONValue = ["dataset": "mnist-test", "indices": [0, 1, 2, 3]]
        XCTAssertTrue(d.failure("explainPrediction", ["model": "m", "input": four]).message.contains("params.input: expected one image, got 4"))
        let cases: [(JSONValue, String)] = [
            (["model": "m", "inputs": four, "classes": [1, 2]], "params.classes: 2 classes for 4 images"),
            (["model": "m", "inputs": four, "classes": [1, 2, 3, 10]], "params.classes[3]: 10 is not a class index"),
            (["model": "m", "inputs": four, "classes": [1, 2, 3, 4], "class": 1], "params.classes: give class or classes"),
            (["model": "m", "input": ["dataset": "mnist-test", "indices": [0]], "classes": [1]], "params.classes: goes with inputs"),
            (["model": "m", "input": ["dataset": "mnist-test", "indices": [0]], "inputs": four], "params.inputs: give input or inputs, not both"),
            (["model": "m"], "params.input: give input (one image) or inputs (several)"),
            (["model": "m", "inputs": four, "compareWith": ["dataset": "mnist-test", "indices": [0]]], "params.compareWith: 1 images for 4 inputs"),
        ]
        for (params, says) in cases {
            let e = d.failure("explainPrediction", params)
            XCTAssertEqual(e.code, -32602, says)
            XCTAssertTrue(e.message.contains(says), "\(says): \(e.message)")
        }
    }
}
