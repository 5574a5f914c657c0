import Foundation
import RPC
import XCTest

/// explainPrediction's concept labels and exemplars: the class histogram of each unit's top
/// images (checked against probe's own topActivations through the same daemon), Network-
/// Dissection labels on a set with concept masks, and the reference set's errors.
final class ExplainConceptTests: XCTestCase {
    func testClassHistogramLabelsAgreeWithProbe() throws {
        let d = try DaemonProcess()
        _ = d.initialize()
        let w = ExplainTests.weights
        _ = d.call("model/load", ["name": "m", "spec": .string(w + "/model.json"), "weights": .string(w + "/model.safetensors")])
        _ = d.call("dataset/load", ["name": "mnist", "kind": "mnist-csv", "path": "data/mnist_5k.csv.gz", "split": ["testPerClass": 50]])
        let r = d.call("explainPrediction", ["model": "m", "input": ["dataset": "mnist-test", "indices": [3]], "topNeurons": 3,
                                             "methods": ["influence"], "concepts": ["dataset": "mnist-test", "k": 7]])
        let layer8 = try XCTUnwrap(r["layers"]?.arrayValue?.first { $0["layer"] == "8" })
        for neuron in layer8["neurons"]?.arrayValue ?? [] {
            let unit = try XCTUnwrap(neuron["unit"]?.intValue)
            let concept = try XCTUnwrap(neuron["concept"])
            XCTAssertEqual(concept["method"], "classHistogram")
            XCTAssertEqual(concept["dataset"], "mnist-test")
            let histogram = concept["histogram"]?.arrayValue?.compactMap(\.doubleValue) ?? []
            XCTAssertEqual(histogram.count, 10)
            XCTAssertEqual(histogram.reduce(0, +), 1, accuracy: 1e-5)
            XCTAssertEqual(concept["score"]?.doubleValue ?? -1, histogram.max() ?? -2, accuracy: 1e-6)
            XCTAssertEqual(concept["label"]?.stringValue, String(histogram.firstIndex(of: histogram.max()!)!))
            // The exemplars are probe's top images of the unit, in the same order and values.
            let probe = d.call("probe", ["model": "m", "layer": "8", "kind": "topActivations", "units": [.number(Double(unit))], "k": 7,
                                         "dataset": ["name": "mnist-test"]])
            let top = probe["top"]?[0]?["top"]?.arrayValue ?? []
            let exemplars = neuron["exemplars"]?.arrayValue ?? []
            XCTAssertEqual(exemplars.count, 7)
            XCTAssertEqual(exemplars.map { $0["source"]?["indices"]?[0]?.intValue }, top.map { $0["index"]?.intValue })
            for (e, t) in zip(exemplars, top) {
                XCTAssertEqual(e["activation"]?.doubleValue ?? 0, t["value"]?.doubleValue ?? 1, accuracy: 1e-5)
            }
            // The histogram counts the labels of those exemplars.
            let labels = top.compactMap { $0["label"]?.intValue }
            for c in 0..<10 {
                XCTAssertEqual(histogram[c], Double(labels.filter { $0 == c }.count) / 7, accuracy: 1e-6)
            }
        }
        // Labels off, and a reference set that is not loaded.
        let off = d.call("explainPrediction", ["model": "m", "input": ["dataset": "mnist-test", "indices": [3]], "topNeurons": 1,
                                               "methods": ["influence"], "concepts": ["dataset": "none"]])
        XCTAssertNil(off["layers"]?[0]?["neurons"]?[0]?["concept"])
        let e = d.failure("explainPrediction", ["model": "m", "input": ["dataset": "mnist-test", "indices": [3]],
                                                  "concepts": ["dataset": "nope"]])
        XCTAssertEqual(e.code, -32001)
        let k = d.failure("explainPrediction", ["model": "m", "input": ["dataset": "mnist-test", "indices": [3]],
                                                  "concepts": ["dataset": "mnist-test", "k": 0]])
        XCTAssertTrue(k.message.contains("params.concepts.k"), k.message)
    }

    func testDissectionLabelsOnTheShapesSet() throws {
        let d = try DaemonProcess()
        _ = d.initialize(root: DaemonProcess.repositoryRoot.path)  // confined: the patches below must stay inside
        _ = d.call("model/create", ["name": "net", "architecture": "shapes-cnn", "seed": 1])
        _ = d.call("dataset/load", ["name": "shapes", "kind": "shapes", "count": 90, "seed": 2])
        let r = d.call("explainPrediction", ["model": "net", "input": ["dataset": "shapes", "indices": [4]], "topNeurons": 4,
                                             "layers": ["relu4", "relu5"], "methods": ["influence"]])
        let layers = r["layers"]?.arrayValue ?? []
        XCTAssertEqual(layers.count, 2)
        let concepts = d.call("dataset/info", ["name": "shapes"])["concepts"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
        for neuron in layers[0]["neurons"]?.arrayValue ?? [] {
            let c = try XCTUnwrap(neuron["concept"])
            XCTAssertEqual(c["method"], "iou", "a conv layer on a set with masks is dissected")
            XCTAssertTrue(concepts.contains(c["label"]?.stringValue ?? ""), "\(c)")
            let iou = c["score"]?.doubleValue ?? -1
            XCTAssertTrue((0...1).contains(iou))
            XCTAssertEqual(c["detector"]?.boolValue, iou >= 0.04)
        }
        for neuron in layers[1]["neurons"]?.arrayValue ?? [] {
            XCTAssertEqual(neuron["concept"]?["method"], "classHistogram", "a dense layer has no maps to dissect")
        }
        // Exemplar patches: the receptive field of each listed unit's maximum, as PNG files.
        let dir = "out/test-concept-patches-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: DaemonProcess.repositoryRoot.appendingPathComponent(dir).path) }
        let withPatches = d.call("explainPrediction", ["model": "net", "input": ["dataset": "shapes", "indices": [4]], "topNeurons": 2,
                                                       "layers": ["relu4"], "methods": ["influence"],
                                                       "concepts": ["dataset": "shapes", "k": 3, "patches": .string(dir)]])
        let exemplars = withPatches["layers"]?[0]?["neurons"]?.arrayValue?.flatMap { $0["exemplars"]?.arrayValue ?? [] } ?? []
        XCTAssertEqual(exemplars.count, 6)
        for e in exemplars {
            let png = try XCTUnwrap(e["png"]?.stringValue)
            XCTAssertTrue(png.hasSuffix(".png") && png.contains("concept-relu4-u"), png)
            let bytes = try Data(contentsOf: URL(fileURLWithPath: png))
            XCTAssertEqual(Array(bytes.prefix(4)), [0x89, 0x50, 0x4E, 0x47], "a PNG file")
            XCTAssertNotNil(e["y"]?.intValue)
            XCTAssertNotNil(e["x"]?.intValue)
        }
        let outside = d.failure("explainPrediction", ["model": "net", "input": ["dataset": "shapes", "indices": [4]], "layers": ["relu4"],
                                                      "methods": ["influence"], "concepts": ["dataset": "shapes", "patches": "/etc/x"]])
        XCTAssertTrue(outside.message.contains("params.concepts.patches"), outside.message)
        // The same units again, with the activation cache emptied first: labels come from what
        // the daemon kept (nothing is measured again, so no activation row comes back), and agree.
        _ = d.call("cache/clear", ["what": ["activations"]])
        let again = d.call("explainPrediction", ["model": "net", "input": ["dataset": "shapes", "indices": [4]], "topNeurons": 4,
                                                 "layers": ["relu4", "relu5"], "methods": ["influence"]])
        XCTAssertEqual(again["layers"], r["layers"])
        let rows = d.call("cache/stats")["tables"]?.arrayValue?.first { $0["name"] == "activations" }?["rows"]?.intValue
        XCTAssertEqual(rows, 0, "nothing was measured again")
    }
}

/// Concept labels kept in the cache database's statistics table: a second daemon on the same
/// file reads them instead of measuring them again; other weights miss.
final class ExplainConceptCacheTests: XCTestCase {
    func explain(_ d: DaemonProcess) -> JSONValue {
        d.call("explainPrediction", ["model": "m", "input": ["dataset": "mnist-test", "indices": [5]], "topNeurons": 4,
                                     "methods": ["influence"], "layers": ["8"]])
    }

    func statistics(_ d: DaemonProcess) -> Int {
        d.call("cache/stats")["tables"]?.arrayValue?.first { $0["name"] == "statistics" }?["rows"]?.intValue ?? -1
    }

    func start(_ cache: URL) throws -> DaemonProcess {
        let d = try DaemonProcess(cache: cache)
        _ = d.initialize()
        let w = ExplainTests.weights
        _ = d.call("model/load", ["name": "m", "spec": .string(w + "/model.json"), "weights": .string(w + "/model.safetensors")])
        _ = d.call("dataset/load", ["name": "mnist", "kind": "mnist-csv", "path": "data/mnist_5k.csv.gz", "split": ["testPerClass": 40]])
        return d
    }

    func testLabelsSurviveARestart() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("advlens-concepts-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let cache = dir.appendingPathComponent("cache.sqlite")
        let first = try start(cache)
        XCTAssertEqual(statistics(first), 0)
        let a = explain(first)
        XCTAssertEqual(statistics(first), 1, "one row: every unit of layer 8 on this reference set")
        first.notify("exit")
        _ = first.waitForExit()
        // The activation rows go, the statistics row stays: the labels must come from it.
        let second = try start(cache)
        _ = second.call("cache/clear", ["what": ["activations"]])
        let b = explain(second)
        XCTAssertEqual(a["layers"], b["layers"], "the same labels and exemplars after a restart")
        let rows = second.call("cache/stats")["tables"]?.arrayValue?.first { $0["name"] == "activations" }?["rows"]?.intValue
        XCTAssertEqual(rows, 0, "nothing was measured again")
        // Other weights: a miss, measured and kept beside the first row.
        _ = second.call("model/create", ["name": "m", "architecture": "mnist-small", "seed": 9])
        _ = explain(second)
        XCTAssertEqual(statistics(second), 2)
    }
}
