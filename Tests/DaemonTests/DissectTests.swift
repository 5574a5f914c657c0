import Foundation
import RPC
import XCTest

/// probe dissect through the real binary, on the generated shapes set (which carries concept
/// masks) and a fresh shapes-cnn: the report's structure and invariants, the adversarial report
/// beside the real one, images that do not change giving the same IoUs, and the errors.
/// (IoU values against hand-made masks with known answers: InterpretTests.)
final class DissectTests: XCTestCase {
    static let images = 18

    func daemon() throws -> (DaemonProcess, concepts: [String: String]) {
        let d = try DaemonProcess()
        _ = d.initialize()
        let loaded = d.call("dataset/load", ["name": "shapes", "kind": "shapes", "count": .number(Double(Self.images)), "seed": 2])
        var concepts: [String: String] = [:]
        for c in loaded["datasets"]?[0]?["concepts"]?.arrayValue ?? [] { concepts[c["name"]!.stringValue!] = c["kind"]!.stringValue! }
        _ = d.call("model/create", ["name": "net", "architecture": "shapes-cnn", "seed": 1])
        return (d, concepts)
    }

    var everyImage: JSONValue { .array((0..<Self.images).map { .number(Double($0)) }) }

    /// What every report must satisfy, whatever the weights.
    func checkReport(_ report: JSONValue?, units: [Int], concepts: [String: String], iouThreshold: Double, line: UInt = #line) {
        let rows = report?["units"]?.arrayValue ?? []
        XCTAssertEqual(rows.compactMap { $0["unit"]?.intValue }, units, line: line)
        var detectorLabels: [String] = []
        for row in rows {
            let label = row["label"]?.stringValue ?? "?"
            XCTAssertNotNil(concepts[label], "\(label) is not a concept of the dataset", line: line)
            XCTAssertEqual(row["conceptKind"]?.stringValue, concepts[label], line: line)
            let iou = row["iou"]?.doubleValue ?? -1
            XCTAssertTrue((0...1).contains(iou), "IoU \(iou) outside [0, 1]", line: line)
            XCTAssertEqual(row["detector"]?.boolValue, iou >= iouThreshold, "unit \(row["unit"]!): IoU \(iou)", line: line)
            XCTAssertNotNil(row["threshold"]?.doubleValue, line: line)
            if row["detector"]?.boolValue == true { detectorLabels.append(label) }
        }
        let detectors = report?["detectors"]?.intValue ?? -1
        XCTAssertEqual(detectors, detectorLabels.count, line: line)
        XCTAssertLessThanOrEqual(detectors, units.count, line: line)
        XCTAssertEqual(report?["uniqueConcepts"]?.intValue, Set(detectorLabels).count, line: line)
        let byKind = report?["byKind"]?.arrayValue ?? []
        XCTAssertEqual(byKind.compactMap { $0["detectors"]?.intValue }.reduce(0, +), detectors, line: line)
        for k in byKind {
            let kind = k["kind"]?.stringValue ?? "?"
            XCTAssertEqual(k["detectors"]?.intValue, detectorLabels.filter { concepts[$0] == kind }.count, kind, line: line)
            XCTAssertEqual(k["uniqueConcepts"]?.intValue, Set(detectorLabels.filter { concepts[$0] == kind }).count, kind, line: line)
        }
    }

    func testRealAndAdversarialReports() throws {
        let (d, concepts) = try daemon()
        let attack = d.call("attack", ["model": "net", "method": "pgd", "inputs": ["dataset": "shapes", "indices": [0, 4, 8, 13]],
                                       "epsilon": 0.1, "stepSize": 0.05, "steps": 3])
        let handle = attack["handle"]!
        let r = d.call("probe", ["model": "net", "layer": "relu3", "kind": "dissect", "dataset": ["name": "shapes"],
                                 "adversarial": ["handle": handle], "adversarials": "all"])
        XCTAssertEqual(r["layerShape"], [32, 16, 16])
        XCTAssertEqual(r["count"]?.intValue, Self.images)
        XCTAssertEqual(r["adversarialHandle"], handle)
        XCTAssertEqual(r["adversarialCount"], 4)
        let dissection = r["dissection"]
        XCTAssertEqual(dissection?["quantile"]?.doubleValue ?? 0, 0.005, accuracy: 1e-7)
        XCTAssertEqual(dissection?["iouThreshold"]?.doubleValue ?? 0, 0.04, accuracy: 1e-7)
        XCTAssertEqual(Set((dissection?["concepts"]?.arrayValue ?? []).compactMap(\.stringValue)), Set(concepts.keys))
        XCTAssertEqual(concepts.count, 44)
        checkReport(dissection?["real"], units: Array(0..<32), concepts: concepts, iouThreshold: 0.04)
        checkReport(dissection?["adversarial"], units: Array(0..<32), concepts: concepts, iouThreshold: 0.04)
        // The adversarial images are judged with the real set's thresholds.
        XCTAssertEqual(dissection?["adversarial"]?["units"]?.arrayValue?.map { $0["threshold"] },
                       dissection?["real"]?["units"]?.arrayValue?.map { $0["threshold"] })

        // Without an adversarial set: the same real report and no adversarial one.
        let alone = d.call("probe", ["model": "net", "layer": "relu3", "kind": "dissect", "dataset": ["name": "shapes"]])
        XCTAssertEqual(alone["dissection"]?["real"], dissection?["real"])
        XCTAssertNil(alone["dissection"]?["adversarial"])
        XCTAssertNil(alone["adversarialHandle"])

        // Some units: their rows of the full report (each unit's threshold is its own).
        let some = d.call("probe", ["model": "net", "layer": "relu3", "kind": "dissect", "units": [3, 17], "dataset": ["name": "shapes"]])
        let full = dissection?["real"]?["units"]?.arrayValue ?? []
        XCTAssertEqual(some["dissection"]?["real"]?["units"], .array([full[3], full[17]]))

        // An IoU threshold of 0 makes every unit a detector.
        let all = d.call("probe", ["model": "net", "layer": "conv1", "kind": "dissect", "dataset": ["name": "shapes"], "iouThreshold": 0])
        checkReport(all["dissection"]?["real"], units: Array(0..<16), concepts: concepts, iouThreshold: 0)
        XCTAssertEqual(all["dissection"]?["real"]?["detectors"], 16)
    }

    /// Adversarial images that are the real images to within 1e-6 label every unit as the real ones do.
    func testUnchangedImagesGiveTheRealIoUs() throws {
        let (d, concepts) = try daemon()
        let attack = d.call("attack", ["model": "net", "method": "fgsm", "epsilon": 1e-6, "inputs": ["dataset": "shapes", "indices": everyImage]])
        let r = d.call("probe", ["model": "net", "layer": "relu4", "kind": "dissect", "units": [0, 1, 2, 3, 4, 5, 6, 7],
                                 "dataset": ["name": "shapes"], "adversarial": ["handle": attack["handle"]!], "adversarials": "all"])
        let real = r["dissection"]?["real"]?["units"]?.arrayValue ?? []
        let adv = r["dissection"]?["adversarial"]?["units"]?.arrayValue ?? []
        XCTAssertEqual(real.count, 8)
        XCTAssertEqual(adv.count, 8)
        for (a, b) in zip(real, adv) {
            XCTAssertEqual(a["label"], b["label"], "unit \(a["unit"]!)")
            XCTAssertEqual(a["iou"]?.doubleValue ?? -1, b["iou"]?.doubleValue ?? 1, accuracy: 1e-3, "unit \(a["unit"]!)")
        }
        checkReport(r["dissection"]?["adversarial"], units: Array(0..<8), concepts: concepts, iouThreshold: 0.04)
    }

    /// The two passes of a sharded dissection, each on two halves of the set, give what one
    /// request on the whole set gives: the halves' top values together are the whole set's, the
    /// threshold is the interpolation of those values, the whole set's thresholds given back
    /// reproduce its report, and the halves' counts add up to the whole set's counts.
    func testShardPassesAddUpToOneRequest() throws {
        let (d, _) = try daemon()
        let units: JSONValue = [0, 5, 9, 20]
        let halves = [Array(0..<7), Array(7..<Self.images)]
        func probe(_ extra: JSONObject, indices: [Int]? = nil) -> JSONValue {
            var set: JSONObject = ["name": "shapes"]
            if let indices { set["indices"] = .array(indices.map { .number(Double($0)) }) }
            var p: JSONObject = ["model": "net", "layer": "relu3", "kind": "dissect", "units": units, "dataset": .object(set), "quantile": 0.013]
            for (k, v) in extra { p[k] = v }
            return d.call("probe", .object(p))
        }
        func rows(_ r: JSONValue) -> [[Float]] {
            (r["topValues"]?["values"]?.arrayValue ?? []).map { ($0.arrayValue ?? []).compactMap { $0.doubleValue.map(Float.init) } }
        }
        // 18 images of 16 x 16 positions; (1 - 0.013) x 4607 = 4547.09: 61 values from rank 4547 up.
        let total = Self.images * 16 * 16, keep = 61
        let whole = probe(["topValues": .number(Double(keep))])
        XCTAssertNil(whole["dissection"])
        XCTAssertEqual(whole["count"]?.intValue, Self.images)
        XCTAssertEqual(whole["topValues"]?["units"], units)
        XCTAssertEqual(whole["topValues"]?["valuesPerUnit"]?.intValue, total)
        let top = rows(whole)
        XCTAssertEqual(top.map(\.count), [keep, keep, keep, keep])
        let parts = halves.map { rows(probe(["topValues": .number(Double(keep))], indices: $0)) }
        for u in 0..<4 {
            XCTAssertEqual(top[u], top[u].sorted(by: >), "unit \(u): highest first")
            XCTAssertEqual(Array((parts[0][u] + parts[1][u]).sorted(by: >).prefix(keep)), top[u], "unit \(u)")
        }
        // More than a set holds: all of its values.
        XCTAssertEqual(rows(probe(["topValues": 100_000], indices: [3])).map(\.count), [256, 256, 256, 256])

        let one = probe(["counts": true])
        let real = one["dissection"]?["real"]
        let thresholds = (real?["units"]?.arrayValue ?? []).map { $0["threshold"]! }
        let position = Double(1 - Float(Double(0.013))) * Double(total - 1)
        let lower = Int(position.rounded(.down)), frac = Float(position - Double(lower))
        XCTAssertEqual(lower, total - keep)
        for u in 0..<4 {
            let a = top[u][total - 1 - lower], b = top[u][total - 2 - lower]
            XCTAssertEqual(thresholds[u].doubleValue.map(Float.init), a + frac * (b - a), "unit \(u)")
        }
        // The thresholds given back: the same report, counts included.
        let given = probe(["thresholds": .array(thresholds), "counts": true])
        XCTAssertEqual(given["dissection"], one["dissection"])
        let counts = halves.map { probe(["thresholds": .array(thresholds), "counts": true], indices: $0)["dissection"]?["real"]?["counts"] }
        func ints(_ v: JSONValue?) -> [Int] { (v?.arrayValue ?? []).compactMap(\.intValue) }
        for field in ["unitArea", "conceptArea"] {
            XCTAssertEqual(zip(ints(counts[0]?[field]), ints(counts[1]?[field])).map(+), ints(real?["counts"]?[field]), field)
        }
        let intersections = (real?["counts"]?["intersections"]?.arrayValue ?? []).map(ints)
        XCTAssertEqual(intersections.count, 4)
        XCTAssertEqual(intersections.map(\.count), [44, 44, 44, 44])
        for u in 0..<4 {
            let halvesSum = zip(ints(counts[0]?["intersections"]?[u]), ints(counts[1]?["intersections"]?[u])).map(+)
            XCTAssertEqual(halvesSum, intersections[u], "unit \(u)")
            // The reported IoU is the best concept's I / (A + M - I).
            let area = ints(real?["counts"]?["unitArea"])[u], masks = ints(real?["counts"]?["conceptArea"])
            let ious = intersections[u].indices.map { c -> Float in
                let union = area + masks[c] - intersections[u][c]
                return union == 0 ? 0 : Float(intersections[u][c]) / Float(union)
            }
            XCTAssertEqual(real?["units"]?[u]?["iou"]?.doubleValue.map(Float.init), ious.max(), "unit \(u)")
        }
        // Without counts: no counts; other thresholds: other regions, reported as given.
        XCTAssertNil(probe([:])["dissection"]?["real"]?["counts"])
        let zero = probe(["thresholds": [0, 0, 0, 0]])["dissection"]?["real"]?["units"]?.arrayValue ?? []
        XCTAssertEqual(zero.map { $0["threshold"]?.doubleValue }, [0, 0, 0, 0])
    }

    /// The adversarial set judged with given thresholds is judged as with the real set's own.
    func testGivenThresholdsApplyToTheAdversarialSet() throws {
        let (d, _) = try daemon()
        let attack = d.call("attack", ["model": "net", "method": "pgd", "inputs": ["dataset": "shapes", "indices": [1, 2, 5, 11]],
                                       "epsilon": 0.1, "stepSize": 0.05, "steps": 3])
        let params: JSONObject = ["model": "net", "layer": "relu3", "kind": "dissect", "units": [1, 2, 3], "dataset": ["name": "shapes"],
                                  "adversarial": ["handle": attack["handle"]!], "adversarials": "all", "counts": true]
        let one = d.call("probe", .object(params))
        let thresholds = (one["dissection"]?["real"]?["units"]?.arrayValue ?? []).map { $0["threshold"]! }
        var again = params
        again["thresholds"] = .array(thresholds)
        let given = d.call("probe", .object(again))
        XCTAssertEqual(given["dissection"], one["dissection"])
        XCTAssertNotNil(one["dissection"]?["adversarial"]?["counts"]?["intersections"])
    }

    func testShardParamsAreCheckedByName() throws {
        let (d, _) = try daemon()
        let base: JSONObject = ["model": "net", "layer": "relu3", "kind": "dissect", "units": [0, 1], "dataset": ["name": "shapes"]]
        let attack = d.call("attack", ["model": "net", "method": "fgsm", "epsilon": 0.01, "inputs": ["dataset": "shapes", "indices": [0, 1]]])
        for (extra, message) in [
            (["topValues": 0] as JSONObject, "params.topValues: expected a positive number of values per unit, got 0"),
            (["thresholds": [0.5]], "params.thresholds: expected one threshold per unit (2 units), got 1"),
            (["thresholds": [0.5, "high"]], "params.thresholds[1]"),
            (["topValues": 5, "thresholds": [0.5, 0.5]], "params.thresholds: not with params.topValues"),
            (["topValues": 5, "counts": true], "params.counts: not with params.topValues"),
            (["topValues": 5, "adversarial": ["handle": attack["handle"]!]], "params.adversarial: not with params.topValues"),
            (["topValues": 5, "kind": "activations"], "params.topValues: only for kind dissect"),
            (["thresholds": [0.5, 0.5], "kind": "topActivations"], "params.thresholds: only for kind dissect"),
            (["counts": true, "kind": "activations"], "params.counts: only for kind dissect"),
            (["counts": 1], "params.counts"),
        ] {
            var p = base
            for (k, v) in extra { p[k] = v }
            let e = d.failure("probe", .object(p))
            XCTAssertEqual(e.code, -32602, message)
            XCTAssertTrue(e.message.contains(message), "\(e.message) lacks \(message)")
        }
    }

    func testErrorsNameTheField() throws {
        let (d, _) = try daemon()
        _ = d.call("dataset/load", ["name": "other", "kind": "shapes", "count": 9, "seed": 5])
        let elsewhere = d.call("attack", ["model": "net", "method": "fgsm", "epsilon": 0.01, "inputs": ["dataset": "other", "indices": [0, 1]]])
        let set: JSONValue = ["name": "shapes"]
        var e = d.failure("probe", ["model": "net", "layer": "relu3", "kind": "dissect", "dataset": set,
                                    "adversarial": ["handle": elsewhere["handle"]!], "adversarials": "all"])
        XCTAssertEqual(e.code, -32602)
        XCTAssertTrue(e.message.contains("params.adversarial") && e.message.contains("\"shapes\""), e.message)
        e = d.failure("probe", ["model": "net", "layer": "relu3", "kind": "dissect", "dataset": set, "reduction": "max"])
        XCTAssertTrue(e.message.contains("params.reduction"), e.message)
        e = d.failure("probe", ["model": "net", "layer": "relu3", "kind": "dissect", "dataset": set, "quantile": 0])
        XCTAssertTrue(e.message.contains("params.quantile"), e.message)
        e = d.failure("probe", ["model": "net", "layer": "relu3", "kind": "dissect", "dataset": set, "iouThreshold": 1.5])
        XCTAssertTrue(e.message.contains("params.iouThreshold"), e.message)
        e = d.failure("probe", ["model": "net", "layer": "relu3", "kind": "dissect", "inputs": ["dataset": "shapes"]])
        XCTAssertTrue(e.message.contains("params.dataset"), e.message)
    }
}
