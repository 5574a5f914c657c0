import CStb
import Foundation
import RPC
import XCTest

/// probe, every kind, through the real binary: values cross-checked between kinds and against
/// the definitions, patches on disk, errors that name the field, progress and cancellation.
/// (dissect on the shapes set, which has concept masks: DissectTests; on hand-made masks with
/// known IoUs: InterpretTests.)
final class ProbeTests: XCTestCase {
    func daemon() throws -> DaemonProcess {
        let d = try DaemonProcess()
        _ = d.initialize()
        _ = d.call("model/create", ["name": "m", "architecture": "mnist-small", "seed": 1])
        _ = d.call("dataset/load", ["name": "mnist", "kind": "mnist-csv", "path": "data/mnist_5k.csv.gz", "split": ["testPerClass": 20]])
        return d
    }

    func floats(_ v: JSONValue?) -> [Float] { v?.arrayValue?.compactMap { $0.doubleValue.map(Float.init) } ?? [] }

    func cosine(_ a: [Float], _ b: [Float]) -> Float {
        let dot = zip(a, b).map(*).reduce(0, +), na = a.map { $0 * $0 }.reduce(0, +), nb = b.map { $0 * $0 }.reduce(0, +)
        return na == 0 || nb == 0 ? 0 : dot / (na * nb).squareRoot()
    }

    /// The max reduction is the maximum of the full map, at the location it reports.
    func testActivationsMaxIsTheMapsMaximumAtItsLocation() throws {
        let d = try daemon()
        let inputs: JSONValue = ["dataset": "mnist-test", "indices": [3, 77]]
        let mx = d.call("probe", ["model": "m", "layer": "3", "kind": "activations", "units": [2, 9], "inputs": inputs])
        XCTAssertEqual(mx["layerShape"], [32, 8, 8])
        XCTAssertEqual(mx["activations"]?["indices"], [0, 1])
        let maps = d.call("probe", ["model": "m", "layer": "3", "kind": "activations", "units": [2, 9], "reduction": "none", "inputs": inputs])
        let wire = maps["activations"]?["maps"]
        XCTAssertEqual(wire?["shape"], [2, 2, 8, 8])
        let bytes = Data(base64Encoded: wire?["data"]?.stringValue ?? "")!
        let values = bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        for i in 0..<2 {
            for u in 0..<2 {
                let map = Array(values[((i * 2 + u) * 64)..<((i * 2 + u + 1) * 64)])
                let v = mx["activations"]?["values"]?[i]?[u]?.doubleValue.map(Float.init)
                XCTAssertEqual(v, map.max())
                let at = mx["activations"]?["locations"]?[i]?[u]
                XCTAssertEqual(map[(at?[0]?.intValue ?? -1) * 8 + (at?[1]?.intValue ?? -1)], map.max())
            }
        }
        // A dataset as the set reports dataset indices and labels; a dense layer has no locations.
        let dense = d.call("probe", ["model": "m", "layer": "8", "kind": "activations", "units": [0], "dataset": ["name": "mnist-test", "indices": [157, 21]]])
        XCTAssertEqual(dense["activations"]?["indices"], [157, 21])
        XCTAssertEqual(dense["activations"]?["labels"], [7, 1])
        XCTAssertNil(dense["activations"]?["locations"])
    }

    /// Top-K: sorted, each value the unit's activation on that image, the box the location's
    /// receptive field (layer 3 of mnist-small: 14 x 14 inside the image), the patch that box.
    func testTopActivationsWithBoxesAndPatches() throws {
        let d = try daemon()
        let dir = "out/probe-tests-\(getpid())"
        let r = d.call("probe", ["model": "m", "layer": "3", "kind": "topActivations", "units": [4], "k": 4, "dataset": ["name": "mnist-test"],
                                 "patches": true, "patchDirectory": .string(dir), "patchScale": 2])
        let top = r["top"]?[0]?["top"]?.arrayValue ?? []
        XCTAssertEqual(top.count, 4)
        let values = top.compactMap { $0["value"]?.doubleValue }
        XCTAssertEqual(values, values.sorted(by: >))
        let all = d.call("probe", ["model": "m", "layer": "3", "kind": "activations", "units": [4], "dataset": ["name": "mnist-test"]])
        let column = (all["activations"]?["values"]?.arrayValue ?? []).compactMap { $0[0]?.doubleValue }
        XCTAssertEqual(values.first, column.max())
        for e in top {
            let index = e["index"]!.intValue!
            XCTAssertEqual(e["value"]?.doubleValue, column[index])
            let (y, x) = (e["y"]!.intValue!, e["x"]!.intValue!)
            // conv k5 (24 x 24), pool 2, conv k5: location y reads input rows 2y ... 2y + 13.
            XCTAssertEqual(e["box"], ["top": .number(Double(2 * y)), "left": .number(Double(2 * x)),
                                      "bottom": .number(Double(2 * y + 13)), "right": .number(Double(2 * x + 13))])
            let path = e["patch"]?.stringValue ?? ""
            var (w, h, c): (Int32, Int32, Int32) = (0, 0, 0)
            XCTAssertEqual(stbi_info(path, &w, &h, &c), 1, "no PNG at \(path)")
            XCTAssertEqual([w, h, c], [28, 28, 1])
        }
        try? FileManager.default.removeItem(at: DaemonProcess.repositoryRoot.appendingPathComponent(dir))
    }

    /// consistency with an attack run by the probe, then with its handle: the same tables; CS1,
    /// CS2 and LC are the definitions applied to the histograms returned.
    func testConsistencyFromAnAttackAndFromItsHandle() throws {
        let d = try daemon()
        let attack: JSONValue = ["method": "pgd", "inputs": ["dataset": "mnist-test", "indices": .array((0..<20).map { .number(Double($0)) })],
                                 "targeted": true, "target": "random", "steps": 5, "stepSize": 0.05]
        let base: JSONObject = ["model": "m", "layer": "8", "kind": "consistency", "units": [0, 1, 2, 3], "k": 5, "dataset": ["name": "mnist-test"]]
        var params = base
        params["adversarial"] = ["attack": attack]
        let first = d.call("probe", .object(params))
        let handle = first["adversarialHandle"]?.stringValue ?? ""
        XCTAssertEqual(handle, "adv-1")
        // Only the adversarials that fooled the model are analysed; the failures are counted.
        let used = try XCTUnwrap(first["adversarialCount"]?.intValue), excluded = try XCTUnwrap(first["adversarialExcluded"]?.intValue)
        XCTAssertEqual(used + excluded, 20)
        XCTAssertGreaterThan(excluded, 0, "5 PGD steps on this model fail on some images")
        var everyImage = params
        everyImage["adversarial"] = ["handle": .string(handle)]
        everyImage["adversarials"] = "all"
        let all = d.call("probe", .object(everyImage))
        XCTAssertEqual(all["adversarialCount"], 20)
        XCTAssertNil(all["adversarialExcluded"])
        params["adversarial"] = ["handle": .string(handle)]
        let again = d.call("probe", .object(params))
        XCTAssertEqual(again["histograms"], first["histograms"])
        let rows = first["histograms"]?.arrayValue ?? []
        XCTAssertEqual(rows.count, 4)
        var cs1s: [Float] = [], firingCS1s: [Float] = []
        for row in rows {
            let (real, adv, target) = (floats(row["pReal"]), floats(row["pAdvTrue"]), floats(row["pAdvTarget"]))
            XCTAssertEqual(real.count, 10)
            XCTAssertEqual(real.reduce(0, +), 1, accuracy: 1e-5)
            XCTAssertEqual(Float(row["cs1"]!.doubleValue!), cosine(real, adv), accuracy: 1e-5)
            XCTAssertEqual(Float(row["cs2"]!.doubleValue!), cosine(real, target), accuracy: 1e-5)
            XCTAssertEqual(Float(row["lc"]!.doubleValue!), real.map { $0 * $0 }.reduce(0, +), accuracy: 1e-5)
            cs1s.append(Float(row["cs1"]!.doubleValue!))
            if row["firing"] == true { firingCS1s.append(Float(row["cs1"]!.doubleValue!)) }
        }
        // The summary covers the units that fire; allUnits keeps the mean over all four.
        let summary = first["consistencySummary"]
        XCTAssertEqual(summary?["units"]?.intValue, firingCS1s.count)
        XCTAssertEqual(summary?["silentUnits"]?.intValue, 4 - firingCS1s.count)
        if firingCS1s.isEmpty {
            XCTAssertNil(summary?["meanCS1"])
        } else {
            XCTAssertEqual(Float(summary?["meanCS1"]?.doubleValue ?? -1), firingCS1s.reduce(0, +) / Float(firingCS1s.count), accuracy: 1e-5)
        }
        XCTAssertEqual(summary?["allUnits"]?["units"], 4)
        XCTAssertEqual(Float(summary?["allUnits"]?["meanCS1"]?.doubleValue ?? -1), cs1s.reduce(0, +) / 4, accuracy: 1e-5)
        XCTAssertEqual(first["consistencySummary"]?["similarity"], "identity")
        // A given A: all-ones makes LC = (sum p)^2 = 1.
        params["similarity"] = .array(Array(repeating: .array(Array(repeating: 1, count: 10)), count: 10))
        let ones = d.call("probe", .object(params))
        for row in ones["histograms"]?.arrayValue ?? [] { XCTAssertEqual(row["lc"]?.doubleValue ?? 0, 1, accuracy: 1e-5) }
        XCTAssertEqual(ones["consistencySummary"]?["similarity"], "request")
        // classHistograms: p_real alone without an adversarial set, the same as consistency's.
        var hist = base
        hist["kind"] = "classHistograms"
        let h = d.call("probe", .object(hist))
        XCTAssertEqual(h["histograms"]?[2]?["pReal"], rows[2]["pReal"])
        XCTAssertNil(h["histograms"]?[2]?["cs1"])
    }

    /// r(x*) = toSource / toTargetClass per sample; the summary counts what the samples say.
    func testRepresentationRatio() throws {
        let d = try daemon()
        _ = d.call("attack", ["model": "m", "method": "pgd", "inputs": ["dataset": "mnist-test", "indices": [0, 2, 4, 6]],
                              "targeted": true, "target": "random", "steps": 5, "stepSize": 0.05])
        let r = d.call("probe", ["model": "m", "layer": "8", "kind": "representation", "dataset": ["name": "mnist-test"],
                                 "adversarial": ["handle": "adv-1"], "adversarials": "all"])
        let rep = r["representation"]
        XCTAssertEqual(r["reduction"], "none")
        let samples = rep?["samples"]?.arrayValue ?? []
        XCTAssertEqual(samples.count, 4)
        XCTAssertEqual(samples.map { $0["source"]?.intValue }, [0, 1, 2, 3])
        var ratios: [Double] = []
        for s in samples {
            let ratio = s["ratio"]!.doubleValue!
            XCTAssertEqual(ratio, s["toSource"]!.doubleValue! / s["toTargetClass"]!.doubleValue!, accuracy: 1e-5)
            ratios.append(ratio)
        }
        XCTAssertEqual(rep?["undefined"], 0)
        XCTAssertEqual(rep?["fractionBelowOne"]?.doubleValue ?? -1, Double(ratios.filter { $0 < 1 }.count) / 4, accuracy: 1e-6)
        XCTAssertEqual(rep?["mean"]?.doubleValue ?? -1, ratios.reduce(0, +) / 4, accuracy: 1e-5)
        XCTAssertEqual((rep?["histogramCounts"]?.arrayValue ?? []).compactMap(\.intValue).reduce(0, +), 4)

        // By default only the samples whose attack succeeded, under their positions in the handle.
        let fooled = d.call("probe", ["model": "m", "layer": "8", "kind": "representation", "dataset": ["name": "mnist-test"],
                                      "adversarial": ["handle": "adv-1"]])
        let kept = fooled["representation"]?["samples"]?.arrayValue ?? []
        XCTAssertEqual(kept.count + (fooled["adversarialExcluded"]?.intValue ?? 0), 4)
        for k in kept {
            let same = samples.first { $0["index"] == k["index"] }
            XCTAssertEqual(same?["ratio"], k["ratio"], "sample \(k["index"] ?? .null) is the same sample of the handle")
        }
    }

    func testErrorsNameTheField() throws {
        let d = try daemon()
        let set: JSONValue = ["name": "mnist-test"]
        var e = d.failure("probe", ["model": "m", "layer": "conv1", "kind": "activations", "dataset": set])
        XCTAssertEqual(e.code, -32001)
        XCTAssertTrue(e.message.contains("params.layer") && e.message.contains("layers: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9"), e.message)
        e = d.failure("probe", ["model": "m", "layer": "3", "kind": "activations", "units": [1, 32], "dataset": set])
        XCTAssertEqual(e.code, -32602)
        XCTAssertTrue(e.message.contains("params.units[1]") && e.message.contains("32 units"), e.message)
        e = d.failure("probe", ["model": "m", "layer": "3", "kind": "dissect", "dataset": set])
        XCTAssertTrue(e.message.contains("params.dataset") && e.message.contains("no concept masks"), e.message)
        e = d.failure("probe", ["model": "m", "layer": "8", "kind": "consistency", "dataset": set])
        XCTAssertTrue(e.message.contains("params.adversarial"), e.message)
        e = d.failure("probe", ["model": "m", "layer": "8", "kind": "representation", "dataset": set, "adversarial": ["handle": "adv-9"]])
        XCTAssertEqual(e.code, -32001)
        XCTAssertTrue(e.message.contains("params.adversarial.handle"), e.message)
        e = d.failure("probe", ["model": "m", "layer": "8", "kind": "consistency", "dataset": set, "similarity": [[1, 0], [0, 1]],
                                "adversarial": ["attack": ["method": "fgsm", "inputs": ["dataset": "mnist-test", "indices": [0]]]]])
        XCTAssertTrue(e.message.contains("params.similarity") && e.message.contains("10 rows"), e.message)
        e = d.failure("probe", ["model": "m", "layer": "8", "kind": "consistency", "dataset": set,
                                "adversarial": ["attack": ["method": "fgsm", "epsilon": -1, "inputs": ["dataset": "mnist-test", "indices": [0]]]]])
        XCTAssertTrue(e.message.contains("params.adversarial.attack.epsilon"), e.message)
        e = d.failure("probe", ["model": "m", "layer": "3", "kind": "topActivations", "reduction": "none", "dataset": set])
        XCTAssertTrue(e.message.contains("params.reduction"), e.message)
        e = d.failure("probe", ["model": "m", "layer": "3", "kind": "activations", "dataset": set, "inputs": ["dataset": "mnist-test"]])
        XCTAssertTrue(e.message.contains("dataset or inputs"), e.message)
        e = d.failure("probe", ["model": "m", "layer": "3", "kind": "activations", "dataset": ["name": "mnist-test", "indices": [5, 200]]])
        XCTAssertTrue(e.message.contains("params.dataset.indices[1]"), e.message)
        e = d.failure("probe", ["model": "m", "layer": "3", "kind": "histogram", "dataset": set])
        XCTAssertTrue(e.message.contains("params.kind") && e.message.contains("topActivations"), e.message)
    }

    /// A long probe reports each batch and stops at the next one when cancelled; the daemon serves on.
    func testProgressAndCancellation() throws {
        let d = try daemon()
        _ = d.call("model/create", ["name": "big", "architecture": "mnist-madry", "seed": 1])
        let id = d.request("probe", ["model": "big", "layer": "3", "kind": "activations", "dataset": ["name": "mnist-train"],
                                     "batchSize": 2, "workDoneToken": "p1"])
        var sawReport = false
        // The deadline only guards against a hang: the first report comes after one batch.
        let deadline = Date().addingTimeInterval(600)
        while Date() < deadline, !sawReport, let m = d.readMessage(timeout: 600) {
            if m["method"] == "$/progress", m["params"]?["token"] == "p1", m["params"]?["value"]?["kind"] == "report" {
                XCTAssertTrue(m["params"]?["value"]?["message"]?.stringValue?.contains("/4800 images") ?? false, "\(m)")
                sawReport = true
            } else if m["id"] == id {
                XCTFail("probe finished before it could be cancelled: \(m)")
                return
            }
        }
        XCTAssertTrue(sawReport, "no $/progress report")
        // Cancelled after the first batch of 2 out of 4,800 images: the answer is -32800 (a
        // handler that ran to the end would answer with its result), however fast the machine.
        d.notify("$/cancelRequest", ["id": id])
        let r = d.response(to: id, timeout: 600)
        XCTAssertEqual(r["error"]?["code"]?.intValue, -32800)
        XCTAssertEqual(d.call("probe", ["model": "m", "layer": "8", "kind": "activations", "units": [0],
                                        "inputs": ["dataset": "mnist-test", "indices": [3]]])["count"], 1)
    }
}
