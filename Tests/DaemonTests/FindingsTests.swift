import Foundation
import RPC
import XCTest

/// The first finding of issue 5 (docs/findings.md) on a small configuration, through the real
/// binary: a standard-trained model (the committed mnist-small weights) under the
/// ensemble-optimization attack, 3 targets per image, run to the end of its steps. At the
/// penultimate layer the units' adversarial top images follow the attack's target more than
/// their source (CS2 above CS1 on average and for most units), and each adversarial image's
/// features lie nearer a real image of the target class than its own source (mean r(x*) > 1).
/// Against a control (the same images and targets, not moved: CS1 0.74, CS2 0.43 at chance,
/// r = 0). The direction is checked, not the numbers (release figures: CS1 0.63, CS2 0.71, r 1.62).
final class FindingsTests: XCTestCase {
    func testStandardModelPenultimateLayerFollowsTheAdversarialTarget() throws {
        let d = try DaemonProcess()
        _ = d.initialize()
        let fixture = "Tests/AttacksTests/Fixtures/mnist-small"
        _ = d.call("model/load", ["name": "m", "spec": .string(fixture + "/model.json"), "weights": .string(fixture + "/model.safetensors")])
        _ = d.call("dataset/load", ["name": "mnist", "kind": "mnist-csv", "path": "data/mnist_5k.csv.gz", "split": ["testPerClass": 20]])
        // The first 20 test images: two of each digit (the default split interleaves the classes).
        let attacked: JSONValue = .array((0..<20).map { .number(Double($0)) })
        func attackWith(steps: Int, learningRate: Double) -> JSONValue {
            d.call("attack", ["model": "m", "method": "ensemble-opt", "inputs": ["dataset": "mnist-test", "indices": attacked],
                              "targetsPerImage": 3, "steps": .number(Double(steps)), "learningRate": .number(learningRate),
                              "earlyStop": false, "seed": 0])
        }
        let attack = attackWith(steps: 100, learningRate: 0.01)
        let samples = attack["samples"]?.arrayValue ?? []
        XCTAssertEqual(samples.count, 60)
        // A strong attack: (nearly) every sample reaches its target.
        let reached = samples.filter { $0["adversarialLabel"] == $0["target"] }.count
        XCTAssertGreaterThanOrEqual(reached, 54, "only \(reached) of 60 reach their target")
        let handle = attack["handle"]!

        // Units that fire on some real image (a dead unit's top list is arbitrary).
        let top = d.call("probe", ["model": "m", "layer": "8", "kind": "topActivations", "k": 1, "dataset": ["name": "mnist-test"]])
        let alive: [JSONValue] = (top["top"]?.arrayValue ?? []).filter { ($0["top"]?[0]?["value"]?.doubleValue ?? 0) > 0 }.map { $0["unit"]! }
        XCTAssertGreaterThan(alive.count, 30)
        // The control set's images are not adversarial (their attack did not move them), so it
        // is analysed whole (adversarials "all"); the attack's only where it succeeded.
        func consistency(_ handle: JSONValue, all: Bool = false) -> (cs1: [Double], cs2: [Double]) {
            let c = d.call("probe", ["model": "m", "layer": "8", "kind": "consistency", "units": .array(alive), "k": 20,
                                     "dataset": ["name": "mnist-test"], "adversarial": ["handle": handle],
                                     "adversarials": all ? "all" : "successful"])
            let rows = c["histograms"]?.arrayValue ?? []
            XCTAssertEqual(rows.count, alive.count)
            return (rows.compactMap { $0["cs1"]?.doubleValue }, rows.compactMap { $0["cs2"]?.doubleValue })
        }
        func mean(_ v: [Double]) -> Double { v.reduce(0, +) / Double(max(v.count, 1)) }
        let (cs1, cs2) = consistency(handle)
        let (mean1, mean2) = (mean(cs1), mean(cs2))
        XCTAssertGreaterThan(mean2, mean1, "mean CS2 \(mean2) should exceed mean CS1 \(mean1)")
        let above = zip(cs1, cs2).filter { $0.1 > $0.0 }.count
        XCTAssertGreaterThan(Double(above) / Double(cs1.count), 0.5, "\(above) of \(cs1.count) units have CS2 > CS1")
        // The control: the same images and targets, not moved (one Adam step of 1e-6). CS2 is at
        // chance there and CS1 higher; the attack raised CS2 above it and lowered CS1.
        let still = attackWith(steps: 1, learningRate: 1e-6)
        let (control1, control2) = consistency(still["handle"]!, all: true)
        XCTAssertGreaterThan(mean2, mean(control2) + 0.1, "attack CS2 \(mean2), control CS2 \(mean(control2))")
        XCTAssertLessThan(mean1, mean(control1), "attack CS1 \(mean1), control CS1 \(mean(control1))")

        let r = d.call("probe", ["model": "m", "layer": "8", "kind": "representation", "dataset": ["name": "mnist-test"],
                                 "adversarial": ["handle": handle]])
        let rep = r["representation"]
        XCTAssertEqual((rep?["count"]?.intValue ?? 0) + (r["adversarialExcluded"]?.intValue ?? 0), 60)
        XCTAssertGreaterThanOrEqual(rep?["count"]?.intValue ?? 0, 54, "the samples that reached their target")
        let mean = rep?["mean"]?.doubleValue ?? 0
        XCTAssertGreaterThan(mean, 1, "mean r(x*) \(mean) should exceed 1")
        XCTAssertLessThan(rep?["fractionBelowOne"]?.doubleValue ?? 1, 0.5)
        let unmoved = d.call("probe", ["model": "m", "layer": "8", "kind": "representation", "dataset": ["name": "mnist-test"],
                                       "adversarial": ["handle": still["handle"]!], "adversarials": "all"])
        XCTAssertLessThan(unmoved["representation"]?["max"]?.doubleValue ?? 1, 0.01)
    }
}
