import Foundation
import RPC
import XCTest

/// dataset/load of the generated shapes set through the real binary: concepts and class
/// similarity reported, the split carrying them, the same seed giving the same images, and
/// errors that name the field.
final class ShapesDatasetTests: XCTestCase {
    func testLoadSplitInfoAndPredictWithShapesCNN() throws {
        let d = try DaemonProcess()
        _ = d.initialize()
        let loaded = d.call("dataset/load", ["name": "shapes", "kind": "shapes", "count": 90, "seed": 3,
                                             "split": ["testPerClass": 2, "seed": 1]])
        let parts = loaded["datasets"]?.arrayValue ?? []
        XCTAssertEqual(parts.compactMap { $0["name"]?.stringValue }, ["shapes-train", "shapes-test"])
        XCTAssertEqual(parts.compactMap { $0["count"]?.intValue }, [72, 18])
        let info = d.call("dataset/info", ["name": "shapes-test"])
        XCTAssertEqual(info["kind"], "shapes")
        XCTAssertEqual(info["imageShape"], [3, 64, 64])
        XCTAssertEqual(info["classCounts"], .array(Array(repeating: 2, count: 9)))
        XCTAssertEqual(info["classes"]?[0], "car")
        XCTAssertEqual(info["classSimilarity"], true)
        let concepts = info["concepts"]?.arrayValue ?? []
        let names = concepts.compactMap { $0["name"]?.stringValue }
        for name in ["wheel", "window", "roof", "eye", "red", "striped", "car"] { XCTAssertTrue(names.contains(name), name) }
        XCTAssertEqual(Set(concepts.compactMap { $0["kind"]?.stringValue }), ["part", "colour", "texture", "object"])

        // Without masks: no concepts; the class hierarchy is still there.
        let bare = d.call("dataset/load", ["name": "bare", "kind": "shapes", "count": 18, "seed": 3, "masks": false])
        XCTAssertEqual(bare["datasets"]?[0]?["concepts"], nil)
        XCTAssertEqual(bare["datasets"]?[0]?["classSimilarity"], true)
        let again = d.call("dataset/load", ["name": "again", "kind": "shapes", "count": 18, "seed": 3])
        XCTAssertEqual(again["datasets"]?[0]?["count"], 18)

        // shapes-cnn takes the images; the same seed gives the same images, so the same logits.
        _ = d.call("model/create", ["name": "net", "architecture": "shapes-cnn", "seed": 1])
        let a = d.call("predict", ["model": "net", "inputs": ["dataset": "bare", "indices": [0, 7, 17]], "returnLogits": true])
        let b = d.call("predict", ["model": "net", "inputs": ["dataset": "again", "indices": [0, 7, 17]], "returnLogits": true])
        XCTAssertEqual(a["count"], 3)
        XCTAssertEqual(a["predictions"]?[1]?["label"], 7)
        XCTAssertNotNil(a["predictions"]?[0]?["logits"])
        XCTAssertEqual(a["predictions"], b["predictions"])
        let other = d.call("dataset/load", ["name": "other", "kind": "shapes", "count": 18, "seed": 4, "masks": false])
        XCTAssertEqual(other["datasets"]?[0]?["count"], 18)
        let c = d.call("predict", ["model": "net", "inputs": ["dataset": "other", "indices": [0, 7, 17]], "returnLogits": true])
        XCTAssertNotEqual(a["predictions"], c["predictions"])
    }

    func testErrorsNameTheField() throws {
        let d = try DaemonProcess()
        _ = d.initialize()
        func refused(_ params: JSONValue, _ field: String, line: UInt = #line) {
            let e = d.failure("dataset/load", params)
            XCTAssertEqual(e.code, -32602, line: line)
            XCTAssertTrue(e.message.contains(field), "\(e.message) should name \(field)", line: line)
        }
        refused(["name": "s", "kind": "shapes"], "params.count")
        refused(["name": "s", "kind": "shapes", "count": 0], "params.count")
        refused(["name": "s", "kind": "shapes", "count": 5001], "params.count")
        refused(["name": "s", "kind": "shapes", "count": 20001, "masks": false], "params.count")
        refused(["name": "s", "kind": "shapes", "count": 10, "path": "data/mnist_5k.csv.gz"], "params.path")
        refused(["name": "s", "kind": "shapes", "count": 10, "classes": ["a"]], "params.classes")
        refused(["name": "s", "kind": "shapes", "count": 10, "split": ["testPerClass": 2]], "params.split")
        refused(["name": "s", "kind": "mnist-csv", "path": "data/mnist_5k.csv.gz", "count": 10], "params.count")
        refused(["name": "s", "kind": "mnist-csv", "path": "data/mnist_5k.csv.gz", "seed": 1], "params.seed")
        XCTAssertEqual(d.call("dataset/list")["datasets"]?.arrayValue?.count, 0)
    }
}
