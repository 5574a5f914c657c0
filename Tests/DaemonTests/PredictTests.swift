import CStb
import Foundation
import RPC
import XCTest

/// predict with every input form, progress and cancellation, through the real binary.
final class PredictTests: XCTestCase {
    func daemon() throws -> DaemonProcess {
        let d = try DaemonProcess()
        _ = d.initialize()
        _ = d.call("model/create", ["name": "m", "architecture": "mnist-small", "seed": 1])
        _ = d.call("dataset/load", ["name": "mnist", "kind": "mnist-csv", "path": "data/mnist_5k.csv.gz", "split": ["testPerClass": 100]])
        return d
    }

    func testTensorInputGivesTopKProbabilities() throws {
        let d = try daemon()
        let values = (0..<(2 * 784)).map { Float($0 % 97) / 97 }
        let r = d.call("predict", ["model": "m", "inputs": .tensor(shape: [2, 1, 28, 28], values: values), "topK": 3, "returnLogits": true])
        let predictions = r["predictions"]?.arrayValue ?? []
        XCTAssertEqual(predictions.count, 2)
        let top = predictions[0]["top"]?.arrayValue ?? []
        XCTAssertEqual(top.count, 3)
        let probs = top.compactMap { $0["probability"]?.doubleValue }
        XCTAssertEqual(probs, probs.sorted(by: >))
        XCTAssertEqual(predictions[0]["predicted"], top[0]["index"])
        XCTAssertEqual(predictions[0]["logits"]?.arrayValue?.count, 10)
        XCTAssertNil(r["accuracy"])
        // A single [C, H, W] tensor is one image.
        XCTAssertEqual(d.call("predict", ["model": "m", "inputs": .tensor(shape: [1, 28, 28], values: Array(values[0..<784]))])["count"], 1)
    }

    func testDatasetReferenceCarriesLabelsAndAccuracy() throws {
        let d = try daemon()
        let r = d.call("predict", ["model": "m", "inputs": ["dataset": "mnist-test", "indices": [0, 5, 999]]])
        XCTAssertEqual(r["count"], 3)
        XCTAssertNotNil(r["accuracy"]?.doubleValue)
        XCTAssertEqual(r["predictions"]?[0]?["label"], 0)
        let all = d.call("predict", ["model": "m", "inputs": ["dataset": "mnist-test"], "topK": 1])
        XCTAssertEqual(all["count"], 1000)
        // Several sources concatenate in order.
        let mixed = d.call("predict", ["model": "m", "inputs": [["dataset": "mnist-test", "indices": [1]],
                                                                  .tensor(shape: [1, 1, 28, 28], values: Array(repeating: 0.5, count: 784))]])
        XCTAssertEqual(mixed["count"], 2)
    }

    /// A PNG (inline and as a file inside the root) decodes to the same input as the tensor
    /// it was made from.
    func testPNGAndPathInputs() throws {
        let d = try daemon()
        var pixels = [UInt8](repeating: 0, count: 784)
        for i in 0..<784 { pixels[i] = UInt8((i * 7) % 256) }
        final class Sink { var bytes = Data() }
        let sink = Sink()
        let written = stbi_write_png_to_func({ context, data, size in
            Unmanaged<Sink>.fromOpaque(context!).takeUnretainedValue().bytes.append(data!.assumingMemoryBound(to: UInt8.self), count: Int(size))
        }, Unmanaged.passUnretained(sink).toOpaque(), 28, 28, 1, pixels, 28)
        XCTAssertEqual(written, 1)
        let png = sink.bytes
        let dir = DaemonProcess.repositoryRoot.appendingPathComponent("out/test-inputs")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try png.write(to: dir.appendingPathComponent("digit.png"))
        let asTensor = d.call("predict", ["model": "m", "returnLogits": true,
                                          "inputs": .tensor(shape: [1, 1, 28, 28], values: pixels.map { Float($0) / 255 })])
        let asPNG = d.call("predict", ["model": "m", "returnLogits": true, "inputs": ["png": .string(png.base64EncodedString())]])
        let asPath = d.call("predict", ["model": "m", "returnLogits": true, "inputs": ["path": "out/test-inputs/digit.png"]])
        XCTAssertEqual(asPNG["predictions"]?[0]?["logits"], asTensor["predictions"]?[0]?["logits"])
        XCTAssertEqual(asPath["predictions"]?[0]?["logits"], asTensor["predictions"]?[0]?["logits"])
        XCTAssertEqual(d.failure("predict", ["model": "m", "inputs": ["png": "bm90IGEgcG5n"]]).code, -32602)
    }

    func testBadInputsNameTheField() throws {
        let d = try daemon()
        var e = d.failure("predict", ["model": "m", "inputs": .tensor(shape: [1, 1, 28, 27], values: Array(repeating: 0, count: 756))])
        XCTAssertEqual(e.code, -32010)
        XCTAssertTrue(e.message.contains("inputs.shape"), e.message)
        var nan = Array(repeating: Float(0), count: 784)
        nan[17] = .nan
        e = d.failure("predict", ["model": "m", "inputs": .tensor(shape: [1, 1, 28, 28], values: nan)])
        XCTAssertEqual(e.code, -32602)
        XCTAssertTrue(e.message.contains("inputs.data") && e.message.contains("17"), e.message)
        e = d.failure("predict", ["model": "m", "inputs": ["shape": [1, 1, 28, 28], "dtype": "float32", "data": "AAAA"]])
        XCTAssertEqual(e.code, -32010)
        e = d.failure("predict", ["model": "m", "inputs": ["dataset": "mnist-test", "indices": [0, 1000]]])
        XCTAssertTrue(e.message.contains("inputs.indices[1]"), e.message)
        e = d.failure("predict", ["model": "m", "inputs": ["dataset": "mnist-test", "indices": "all"]])
        XCTAssertEqual(e.code, -32602)
        XCTAssertTrue(e.message.contains("indices"), e.message)
        e = d.failure("predict", ["model": "m", "inputs": ["dataset": "mnist-test", "png": "x"]])
        XCTAssertTrue(e.message.contains("exactly one of"), e.message)
        e = d.failure("predict", ["model": "nope", "inputs": ["dataset": "mnist-test"]])
        XCTAssertEqual(e.code, -32001)
        e = d.failure("predict", ["inputs": ["dataset": "mnist-test"]])
        XCTAssertTrue(e.message.contains("params.model"), e.message)
        e = d.failure("predict", ["model": "m", "inputs": ["handle": "adv-1"]])
        XCTAssertEqual(e.code, -32001)
        e = d.failure("predict", ["model": "m", "inputs": ["dataset": "mnist-test", "indices": [0]], "topK": 0])
        XCTAssertTrue(e.message.contains("params.topK"), e.message)
    }

    /// A long predict reports progress, and a cancel after the first report stops it: -32800.
    func testProgressAndCancellation() throws {
        let d = try daemon()
        let indices = JSONValue.array((0..<60_000).map { .number(Double($0 % 1000)) })
        let id = d.request("predict", ["model": "m", "inputs": ["dataset": "mnist-test", "indices": indices], "workDoneToken": "p1"])
        // Wait for the first progress report, then cancel.
        var sawBegin = false
        // The deadline only guards against a hang.
        let deadline = Date().addingTimeInterval(600)
        while Date() < deadline, !sawBegin, let m = d.readMessage(timeout: 600) {
            if m["method"] == "$/progress", m["params"]?["token"] == "p1", m["params"]?["value"]?["kind"] == "report" { sawBegin = true } else if m["id"] == id {
                XCTFail("predict finished before it could be cancelled: \(m)")
                return
            }
        }
        XCTAssertTrue(sawBegin, "no $/progress report")
        // The answer is -32800, not the result of all 60,000 images: the work stopped between
        // chunks. How fast is the benchmarks' business (bench/daemon_bench.py), not this test's.
        d.notify("$/cancelRequest", ["id": id])
        let r = d.response(to: id, timeout: 600)
        XCTAssertEqual(r["error"]?["code"]?.intValue, -32800)
        // The daemon still serves.
        XCTAssertEqual(d.call("predict", ["model": "m", "inputs": ["dataset": "mnist-test", "indices": [3]]])["count"], 1)
    }
}
