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
}
