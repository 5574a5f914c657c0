import Foundation
import RPC
import XCTest

/// evaluate with a list of attacks through the real binary, on the trained fixture model: the
/// worst case per image against each attack alone, the curve over epsilons, one progress
/// stream, a gradient-masking check that fires on a model where it must, and errors that name
/// the attack's field.
final class EvaluateTests: XCTestCase {
    static let weights = "Tests/AttacksTests/Fixtures/mnist-small"

    func daemon() throws -> DaemonProcess {
        let d = try DaemonProcess()
        _ = d.initialize()
        _ = d.call("model/load", ["name": "m", "spec": .string(Self.weights + "/model.json"), "weights": .string(Self.weights + "/model.safetensors")])
        _ = d.call("dataset/load", ["name": "mnist", "kind": "mnist-csv", "path": "data/mnist_5k.csv.gz", "split": ["testPerClass": 10]])
        return d
    }

    func testTheWorstCaseIsWhatNoAttackBrokeAlone() throws {
        let d = try daemon()
        let fgsm: JSONValue = ["method": "fgsm", "epsilon": 0.1]
        let bim: JSONValue = ["method": "bim", "epsilon": 0.1, "steps": 5, "stepSize": 0.03]
        let r = d.call("evaluate", ["model": "m", "dataset": "mnist-test", "attacks": [fgsm, bim], "perSample": true, "batchSize": 40])
        XCTAssertEqual(r["count"], 100)
        let point = try XCTUnwrap(r["curve"]?[0])
        let rows = try XCTUnwrap(point["samples"]?.arrayValue)
        XCTAssertEqual(rows.count, 100)
        // Each attack alone on every image, through `attack` (both are deterministic).
        let indices = JSONValue.array((0..<100).map { .number(Double($0)) })
        var fooled: [[Bool]] = []
        for a in [fgsm, bim] {
            var params = a.objectValue!
            params["model"] = "m"
            params["inputs"] = ["dataset": "mnist-test", "indices": indices]
            let attacked = d.call("attack", .object(params))
            fooled.append(try XCTUnwrap(attacked["samples"]?.arrayValue).map { $0["adversarialLabel"] != $0["label"] })
        }
        for (i, row) in rows.enumerated() {
            let correct = try XCTUnwrap(row["cleanCorrect"]?.boolValue)
            XCTAssertEqual(row["robust"]?.boolValue, correct && !fooled[0][i] && !fooled[1][i], "image \(i)")
            if correct && fooled[0][i] { XCTAssertEqual(row["brokenBy"], 0, "FGSM, first in order, broke \(i)") }
            if correct && !fooled[0][i] && fooled[1][i] { XCTAssertEqual(row["brokenBy"], 1, "BIM broke \(i)") }
        }
        let robust = rows.filter { $0["robust"] == true }.count
        XCTAssertTrue(robust > 0 && robust < rows.filter { $0["cleanCorrect"] == true }.count, "a test that can tell: \(robust)")
        XCTAssertEqual(r["robustAccuracy"]?.doubleValue, Double(robust) / 100)
        let figures = try XCTUnwrap(point["attacks"]?.arrayValue)
        XCTAssertEqual(figures[0]["robustAccuracy"]?.doubleValue ?? -1, r["cleanAccuracy"]!.doubleValue! - Double(figures[0]["broken"]!.intValue!) / 100,
                       accuracy: 1e-12)
        XCTAssertNil(figures[1]["robustAccuracy"], "BIM ran only on what FGSM left: its own figure is unknown")
        let correct = rows.filter { $0["cleanCorrect"] == true }.count
        XCTAssertEqual(figures[1]["attacked"]?.intValue, correct - figures[0]["broken"]!.intValue!)
        XCTAssertEqual(figures[1]["cumulativeRobustAccuracy"]?.doubleValue, r["robustAccuracy"]?.doubleValue)
        XCTAssertEqual(figures[1]["config"]?["steps"], 5)
        // The handle holds the adversarials that broke images: predict agrees with the rows.
        let handle = try XCTUnwrap(point["handle"]?.stringValue)
        let predicted = d.call("predict", ["model": "m", "inputs": ["handle": .string(handle)]])["predictions"]?.arrayValue ?? []
        let broken = rows.filter { $0["brokenBy"] != nil }
        XCTAssertEqual(predicted.map { $0["predicted"] }, broken.map { $0["adversarialLabel"] })
        XCTAssertEqual(predicted.map { $0["label"] }, broken.map { $0["label"] })

        // Independent: every attack on every correct image; the same worst case.
        let all = d.call("evaluate", ["model": "m", "dataset": "mnist-test", "attacks": [fgsm, bim], "independent": true])
        XCTAssertEqual(all["robustAccuracy"], r["robustAccuracy"])
        let own = all["curve"]?[0]?["attacks"]?.arrayValue?.compactMap { $0["robustAccuracy"]?.doubleValue } ?? []
        XCTAssertEqual(own.count, 2)
        let right = rows.indices.filter { rows[$0]["cleanCorrect"] == true }
        for (k, f) in fooled.enumerated() {
            XCTAssertEqual(own[k], Double(right.filter { !f[$0] }.count) / 100, accuracy: 1e-12, "attack \(k) alone")
        }
    }

    func testACurveOverEpsilonsWithOneProgressStream() throws {
        let d = try daemon()
        let id = d.request("evaluate", ["model": "m", "dataset": "mnist-test", "batchSize": 50, "workDoneToken": "c",
                                        "attacks": [["method": "pgd", "steps": 5, "stepSize": 0.05], ["method": "fgsm"]],
                                        "epsilons": [0.05, 0.15, 0.3]])
        let r = try XCTUnwrap(d.response(to: id)["result"])
        let curve = try XCTUnwrap(r["curve"]?.arrayValue)
        XCTAssertEqual(curve.map { $0["epsilon"]?.doubleValue ?? -1 }.map { ($0 * 100).rounded() }, [5, 15, 30])
        let robust = curve.map { $0["robustAccuracy"]?.doubleValue ?? -1 }
        XCTAssertEqual(robust, robust.sorted(by: >), "more budget, fewer robust images")
        XCTAssertGreaterThan(robust[0], robust[2])
        XCTAssertNil(r["robustAccuracy"], "a curve has no single figure")
        for point in curve {
            XCTAssertEqual(point["attacks"]?[0]?["config"]?["epsilon"], point["epsilon"], "each attack's epsilon is the point's")
            XCTAssertEqual(point["attacks"]?[1]?["config"]?["epsilon"], point["epsilon"])
        }
        XCTAssertEqual(r["checks"], [], "PGD is the stronger here; the curve falls")
        let reports = d.pending.filter { $0["params"]?["token"] == "c" && $0["params"]?["value"]?["kind"] == "report" }
        let percentages = reports.compactMap { $0["params"]?["value"]?["percentage"]?.intValue }
        XCTAssertEqual(percentages, percentages.sorted(), "one stream, never going back")
        XCTAssertEqual(percentages.last, 100)
        XCTAssertTrue(reports.last?["params"]?["value"]?["message"]?.stringValue?.hasPrefix("100/100, epsilon 0.3, fgsm (2/2), clean") ?? false,
                      "\(reports.last ?? .null)")
    }

    /// Carlini et al.'s first check on a real model: PGD with a step size far too small for its
    /// budget (ten steps of 0.001 reach at most 0.01 of the 0.3 allowed) is beaten by FGSM.
    func testAnIterativeAttackWeakerThanFGSMIsFlagged() throws {
        let d = try daemon()
        let weak: JSONValue = ["method": "pgd", "steps": 10, "stepSize": 0.001, "randomStart": false]
        let r = d.call("evaluate", ["model": "m", "dataset": "mnist-test", "attacks": [weak, ["method": "fgsm"]], "epsilons": [0.3]])
        let checks = try XCTUnwrap(r["checks"]?.arrayValue)
        XCTAssertEqual(checks.map { $0["code"] }, ["iterativeWeakerThanSingleStep"])
        XCTAssertEqual(checks[0]["attacks"], [0, 1])
        XCTAssertTrue(checks[0]["message"]?.stringValue?.contains("pgd (attacks[0])") ?? false, "\(checks[0])")
        // A working PGD (its defaults) in the same place: nothing to flag.
        let fine = d.call("evaluate", ["model": "m", "dataset": "mnist-test", "attacks": [["method": "pgd", "steps": 10, "stepSize": 0.05], ["method": "fgsm"]],
                                       "epsilons": [0.3]])
        XCTAssertEqual(fine["checks"], [])
    }

    /// A cancel inside the curve answers with every point's figures over the chunks finished.
    func testACancelledCurveKeepsTheWholeChunks() throws {
        let d = try daemon()
        let id = d.request("evaluate", ["model": "m", "dataset": "mnist-test", "batchSize": 8, "workDoneToken": "k", "epsilons": [0.1, 0.2],
                                        "attacks": [["method": "fgsm"], ["method": "pgd", "steps": 300, "earlyStop": false]]])
        let partial = try XCTUnwrap(d.partialAfterFirstReport(id))
        let count = try XCTUnwrap(partial["count"]?.intValue)
        XCTAssertTrue(count < 100 && count % 8 == 0, "whole chunks only: \(count)")
        let curve = try XCTUnwrap(partial["curve"]?.arrayValue)
        XCTAssertEqual(curve.count, 2)
        for point in curve {
            let attacked = point["attacks"]?[0]?["attacked"]?.intValue ?? -1
            XCTAssertTrue(attacked >= 0 && attacked <= count, "figures over the finished chunks: \(attacked) of \(count)")
        }
    }

    func testErrorsNameTheAttacksField() throws {
        let d = try daemon()
        let cases: [(JSONValue, String)] = [
            (["attacks": [["method": "fgsm"], ["method": "pgdd"]]], "params.attacks[1].method"),
            (["attacks": [["method": "fgsm", "steps": 3]]], "params.attacks[0].steps"),
            (["attacks": [["method": "pgd", "epsilon": 0.1]], "epsilons": [0.2]], "params.attacks[0].epsilon"),
            (["attacks": [["method": "fgsm"]], "epsilons": [0.1, 0]], "params.epsilons[1]"),
            (["attacks": [["method": "pgd", "norm": "l2"], ["method": "fgsm"]]], "params.attacks[1].norm"),
            (["attacks": [["method": "fgsm", "target": [1, 2]]]], "params.attacks[0].target"),
            (["attacks": []], "params.attacks"),
            (["attack": ["method": "fgsm"], "attacks": [["method": "fgsm"]]], "params"),
            (["epsilons": [0.1]], "params.epsilons"),
            (["attacks": [["method": "fgsm", "stepsize": 1]]], "params.attacks[0].stepsize"),
        ]
        for (extra, field) in cases {
            var params: JSONObject = ["model": "m", "dataset": "mnist-test"]
            for k in extra.objectValue!.keys { params[k] = extra[k] }
            let e = d.failure("evaluate", .object(params))
            XCTAssertEqual(e.code, -32602, "\(extra)")
            XCTAssertTrue(e.message.hasPrefix(field + ":") || e.message.hasPrefix(field + " "), "\(e.message) should name \(field)")
        }
    }
}
