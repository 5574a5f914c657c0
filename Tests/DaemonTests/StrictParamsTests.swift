import Foundation
import RPC
import XCTest

/// Strict params through the real daemon: a field no method knows is refused before any work,
/// naming the field and the known one it resembles, at the top level and nested, on every
/// family of methods; names from other libraries (torchattacks' `eps`, `alpha`) get the
/// matching suggestion instead of running at the defaults.
final class StrictParamsTests: XCTestCase {
    func testUnknownFieldsAreRefusedWithTheFieldTheyResemble() throws {
        let d = try DaemonProcess()
        _ = d.initialize()
        _ = d.call("model/create", ["name": "m", "architecture": "mnist-small", "seed": 1])
        let before = d.call("model/info", ["name": "m"])["summary"]?["fingerprint"]
        let image = JSONValue.tensor(shape: [1, 1, 28, 28], values: Array(repeating: 0.5, count: 784))
        let cases: [(String, JSONValue, String)] = [
            ("attack", ["model": "m", "method": "pgd", "inputs": image, "labels": [3], "eps": 0.1],
             "params.eps: unknown field; did you mean \"epsilon\"?"),
            ("attack", ["model": "m", "method": "pgd", "inputs": image, "labels": [3], "alpha": 0.01],
             "params.alpha: unknown field; did you mean \"stepSize\"?"),
            ("attack", ["model": "m", "method": "pgd", "inputs": image, "labels": [3], "return": ["imagse": true]],
             "params.return.imagse: unknown field; did you mean \"images\"?"),
            ("predict", ["model": "m", "inputs": image, "topk": 3], "params.topk: unknown field; did you mean \"topK\"?"),
            ("model/create", ["name": "n", "architecture": "mnist-small", "sede": 1], "params.sede: unknown field; did you mean \"seed\"?"),
            ("trainStep", ["model": "m", "inputs": image, "labels": [3], "optimizer": ["kind": "sgd", "lr": 0.1]],
             "params.optimizer.lr: unknown field; did you mean \"learningRate\"?"),
            ("evaluate", ["model": "m", "inputs": image, "labels": [3], "attack": ["method": "fgsm", "epsilon": 0.1, "random_start": true]],
             "params.attack.random_start: unknown field; did you mean \"randomStart\"?"),
            ("model/list", ["verbose": true], "params.verbose: unknown field"),
        ]
        for (method, params, message) in cases {
            let f = d.failure(method, params)
            XCTAssertEqual(f.code, ErrorCode.invalidParams, method)
            XCTAssertEqual(f.message, message, method)
        }
        XCTAssertEqual(d.call("model/info", ["name": "m"])["summary"]?["fingerprint"], before, "a refused trainStep trained nothing")
        // The progress token is a field of every request; the model was not touched by any refusal.
        XCTAssertEqual(d.call("model/list", ["workDoneToken": "t"])["models"]?.arrayValue?.count, 1)
    }

    /// Every closed set on the wire refuses a name outside it the same way, `params.<field>:
    /// unknown "x"; known: a, b, c`, whether the set is an enum (reductions, dataset kinds,
    /// objectives, adversaries, integration rules) or a registry (probe kinds, explainers); and
    /// capabilities list exactly the explainers the registry knows (the names the error lists).
    func testUnknownNamesInClosedSetsGetOneMessage() throws {
        let d = try DaemonProcess()
        let caps = d.initialize()["capabilities"]!
        _ = d.call("model/create", ["name": "m", "architecture": "mnist-small", "seed": 1])
        _ = d.call("dataset/load", ["name": "mnist", "kind": "mnist-csv", "path": "data/mnist_5k.csv.gz"])
        let image = JSONValue.tensor(shape: [1, 1, 28, 28], values: Array(repeating: 0.5, count: 784))
        let probeKinds = "activations, topActivations, classHistograms, consistency, representation, dissect"
        let explainers = ["influence", "gradientTimesActivation", "saliency", "inputTimesGradient", "integratedGradients", "gradCam", "occlusion"]
        let cases: [(String, JSONValue, String)] = [
            ("probe", ["model": "m", "layer": "3", "kind": "histogram", "inputs": image],
             "params.kind: unknown \"histogram\"; known: \(probeKinds)"),
            ("probe", ["model": "m", "layer": "3", "kind": "activations", "reduction": "median", "inputs": image],
             "params.reduction: unknown \"median\"; known: max, mean, none"),
            ("probe", ["model": "m", "layer": "3", "kind": "topActivations", "reduction": "none", "inputs": image],
             "params.reduction: expected \"max\" or \"mean\" for topActivations, got \"none\""),
            ("explainPrediction", ["model": "m", "input": image, "methods": ["saliency", "telepathy"]],
             "params.methods[1]: unknown \"telepathy\"; known: \(explainers.joined(separator: ", "))"),
            ("explainPrediction", ["model": "m", "input": image, "methods": ["integratedGradients"], "integrationMethod": "simpson"],
             "params.integrationMethod: unknown \"simpson\"; known: gausslegendre, riemann_trapezoid, riemann_left, riemann_right, riemann_middle"),
            ("dataset/load", ["name": "x", "kind": "coco", "path": "x"],
             "params.kind: unknown \"coco\"; known: mnist-csv, mnist-idx, npy, npz, imagefolder, imagenet-val, cifar, broden, shapes"),
            ("trainStep", ["model": "m", "dataset": "mnist", "objective": ["kind": "magic"]],
             "params.objective.kind: unknown \"magic\"; known: standard, pgd, trades, consistent"),
            ("trainStep", ["model": "m", "dataset": "mnist", "objective": ["kind": "pgd", "adversary": ["method": "jsma"]]],
             "params.objective.adversary.method: unknown \"jsma\"; known: fgsm, pgd, llc, kl"),
            ("trainStep", ["model": "m", "dataset": "mnist", "objective": ["kind": "consistent", "featureReduction": "max"]],
             "params.objective.featureReduction: unknown \"max\"; known: sum, mean"),
        ]
        for (method, params, message) in cases {
            let f = d.failure(method, params)
            XCTAssertEqual(f.code, ErrorCode.invalidParams, method)
            XCTAssertEqual(f.message, message, method)
        }
        XCTAssertEqual(caps["explainers"]?.arrayValue?.compactMap(\.stringValue), explainers)
        XCTAssertEqual(caps["objectives"]?.arrayValue?.compactMap(\.stringValue), ["standard", "pgd", "trades", "consistent"])
        XCTAssertEqual(caps["datasetKinds"]?.arrayValue?.compactMap(\.stringValue), ["mnist-csv", "mnist-idx", "npy", "npz", "imagefolder", "imagenet-val", "cifar", "broden", "shapes"])
        // Every explainer capabilities list runs (the registry is the one list of both).
        let r = d.call("explainPrediction", ["model": "m", "input": image, "methods": .array(explainers.map { .string($0) }), "steps": 4])
        XCTAssertEqual(Set(r["maps"]?.objectValue?.keys.map { $0 } ?? []),
                       ["saliency", "inputTimesGradient", "integratedGradients", "gradCam", "occlusion"])
        XCTAssertEqual(r["layers"]?.arrayValue?.first?["rankedBy"], "logitDrop")
        XCTAssertEqual(r["maps"]?["integratedGradients"]?["integrationMethod"], "gausslegendre")
    }

    /// A huge unknown field name or enum value is quoted capped, not echoed whole.
    func testHugeUnknownNamesAreEchoedCapped() throws {
        let d = try DaemonProcess()
        _ = d.initialize()
        _ = d.call("model/create", ["name": "m", "architecture": "mnist-small"])
        let huge = String(repeating: "q", count: 1_000_000)
        let field = d.failure("model/list", .object(JSONObject([(huge, 1)])))
        XCTAssertEqual(field.code, ErrorCode.invalidParams)
        XCTAssertLessThan(field.message.utf8.count, 400, "\(field.message.prefix(300))")
        XCTAssertTrue(field.message.hasSuffix("…: unknown field"), "\(field.message.suffix(60))")
        let image = JSONValue.tensor(shape: [1, 1, 28, 28], values: Array(repeating: 0.5, count: 784))
        let method = d.failure("attack", ["model": "m", "method": .string(huge), "inputs": image])
        XCTAssertLessThan(method.message.utf8.count, 600, "\(method.message.prefix(300))")
        XCTAssertTrue(method.message.hasPrefix("params.method: unknown \"qqq"), method.message)
        let norm = d.failure("attack", ["model": "m", "method": "pgd", "norm": .string(huge), "inputs": image])
        XCTAssertLessThan(norm.message.utf8.count, 400, "\(norm.message.prefix(300))")
    }
}
