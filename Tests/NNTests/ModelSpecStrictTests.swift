import Foundation
import NN
import TestSupport
import XCTest

/// Spec decoding refuses keys no spec object has, at every level, naming the path and the
/// nearest known field; every spec committed to the repository still loads.
final class ModelSpecStrictTests: XCTestCase {
    func assertRefused(_ json: String, path: String, message: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try Model.decodeSpec(Data(json.utf8)), file: file, line: line) { error in
            XCTAssertEqual(error as? ModelError, .invalidSpec(path: path, message: message), file: file, line: line)
        }
    }

    let input = #""input": {"shape": [1, 4, 4], "range": [0, 1]}"#
    let classes = #""classes": ["a", "b"]"#

    func testUnknownFieldOfTheSpec() {
        assertRefused(#"{"name": "m", \#(input), \#(classes), "layer": [], "layers": []}"#,
                      path: "layer", message: #"unknown field; did you mean "layers"?"#)
        assertRefused(#"{"name": "m", \#(input), \#(classes), "layers": [], "comment": "x"}"#,
                      path: "comment", message: "unknown field")
    }

    /// A key may itself contain ": "; the path is reported whole (it used to be cut at the first
    /// ": " of the message).
    func testAnUnknownKeyWithAColonIsNamedWhole() {
        assertRefused(#"{"name": "m", \#(input), \#(classes), "layers": [], "note: old": 1}"#,
                      path: "note: old", message: "unknown field")
    }

    func testUnknownFieldOfTheInput() {
        assertRefused(#"{"name": "m", "input": {"shape": [1, 4, 4], "range": [0, 1], "stdd": [1]}, \#(classes), "layers": []}"#,
                      path: "input.stdd", message: #"unknown field; did you mean "std"?"#)
    }

    func testUnknownFieldOfALayer() {
        let layers = #"[{"name": "f", "type": "flatten"}, {"name": "l", "type": "linear", "in_features": 16, "out_features": 2, "kernal_size": 3}]"#
        assertRefused(#"{"name": "m", \#(input), \#(classes), "layers": \#(layers)}"#,
                      path: "layers[1].kernal_size", message: #"unknown field; did you mean "kernel_size"?"#)
    }

    /// The typo the strictness is for: `input` for `inputs` silently read the previous node.
    func testUnknownFieldOfAGraphNode() {
        let nodes = #"""
        [{"name": "f", "type": "flatten"}, {"name": "a", "type": "linear", "in_features": 16, "out_features": 2},
         {"name": "b", "type": "linear", "in_features": 16, "out_features": 2, "inputs": ["f"]},
         {"name": "s", "type": "add", "inputs": ["a", "b"]}, {"name": "t", "type": "add", "input": ["s", "a"]}]
        """#
        assertRefused(#"{"name": "m", \#(input), \#(classes), "nodes": \#(nodes)}"#,
                      path: "nodes[4].input", message: #"unknown field; did you mean "inputs"?"#)
    }

    func testUnknownFieldInsideAResidual() {
        let body = #"[{"name": "c", "type": "conv2d", "in_channels": 1, "out_channels": 1, "kernel_size": 3, "paddin": 1}]"#
        assertRefused(#"{"name": "m", \#(input), \#(classes), "layers": [{"name": "r", "type": "residual", "body": \#(body), "shortcut": []}]}"#,
                      path: "layers[0].body[0].paddin", message: #"unknown field; did you mean "padding"?"#)
        let shortcut = #"[{"name": "c", "type": "conv2d", "in_channels": 1, "out_channels": 1, "kernel_size": 1, "bais": false}]"#
        assertRefused(#"{"name": "m", \#(input), \#(classes), "layers": [{"name": "r", "type": "residual", "body": [], "shortcut": \#(shortcut)}]}"#,
                      path: "layers[0].shortcut[0].bais", message: #"unknown field; did you mean "bias"?"#)
    }

    func testRepeatedKeyAndWrongTypeNameTheField() {
        XCTAssertThrowsError(try Model.decodeSpec(Data(#"{"name": "m", "name": "n", \#(input), \#(classes), "layers": []}"#.utf8))) {
            guard case .invalidSpec(let path, let message)? = $0 as? ModelError else { return XCTFail("\($0)") }
            XCTAssertEqual(path, "(document)")
            XCTAssertTrue(message.contains("name"), message)
        }
        XCTAssertThrowsError(try Model.decodeSpec(Data(#"{"name": "m", \#(input), \#(classes), "layers": [{"name": "c", "type": "conv2d", "kernel_size": "3"}]}"#.utf8))) {
            guard case .invalidSpec(let path, _)? = $0 as? ModelError else { return XCTFail("\($0)") }
            XCTAssertEqual(path, "layers[0].kernel_size")
        }
    }

    /// Every spec file committed under Tests/ (a JSON object with classes and layers or nodes)
    /// decodes under the strict rules and builds.
    func testEveryCommittedSpecLoads() throws {
        let tests = RepositoryPaths.root.appendingPathComponent("Tests")
        var loaded: [String] = []
        for case let url as URL in FileManager.default.enumerator(at: tests, includingPropertiesForKeys: nil)! where url.pathExtension == "json" {
            let data = try Data(contentsOf: url)
            guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any], object["classes"] != nil,
                  object["layers"] != nil || object["nodes"] != nil else { continue }
            XCTAssertNoThrow(try Model(spec: Model.decodeSpec(data)), url.path)
            loaded.append(url.lastPathComponent)
        }
        XCTAssertGreaterThanOrEqual(loaded.count, 6, "\(loaded)")
    }
}
