import Foundation
import XCTest
@testable import Protocol
import RPC

/// Protocol types against golden JSON: what a client writes decodes, and what the server
/// writes has the documented shape and round-trips — through the daemon's own parser,
/// decoder, encoder and serializer (JSONText, JSONValueCoding), strict about unknown fields.
final class WireFormatTests: XCTestCase {
    func decode<T: Decodable>(_ type: T.Type, _ json: String) throws -> T {
        try JSONValueCoding.decode(T.self, from: JSONText.parse(json))
    }

    /// Encoded, written as text, parsed and decoded again: the same value.
    func roundTrip<T: Codable & Equatable>(_ value: T, file: StaticString = #filePath, line: UInt = #line) throws {
        let text = JSONText.serialize(try JSONValueCoding.encode(value))
        XCTAssertEqual(try JSONValueCoding.decode(T.self, from: JSONText.parse(text)), value, file: file, line: line)
    }

    func testInputSourceForms() throws {
        XCTAssertEqual(try decode(InputSource.self, #"{"dataset": "mnist-test", "indices": [0, 5]}"#), .dataset(name: "mnist-test", indices: [0, 5]))
        XCTAssertEqual(try decode(InputSource.self, #"{"dataset": "mnist-test"}"#), .dataset(name: "mnist-test", indices: nil))
        XCTAssertEqual(try decode(InputSource.self, #"{"handle": "adv-17"}"#), .handle(id: "adv-17", indices: nil))
        XCTAssertEqual(try decode(InputSource.self, #"{"png": "iVBO"}"#), .png("iVBO"))
        XCTAssertEqual(try decode(InputSource.self, #"{"path": "a.png"}"#), .path("a.png"))
        XCTAssertEqual(try decode(InputSource.self, #"{"shape": [1, 1, 1, 1], "dtype": "float32", "data": "AACAPw=="}"#),
                       .tensor(WireTensor(shape: [1, 1, 1, 1], data: "AACAPw==")))
        XCTAssertThrowsError(try decode(InputSource.self, #"{"dataset": "a", "path": "b"}"#))
        XCTAssertThrowsError(try decode(InputSource.self, #"{"indices": [1]}"#))
        for s in [InputSource.dataset(name: "d", indices: [1]), .handle(id: "h", indices: nil), .png("x"), .path("p"),
                  .tensor(WireTensor(shape: [2], data: "AAAAAAAAAAA="))] {
            try roundTrip(s)
        }
    }

    func testInputsTakeOneSourceOrAList() throws {
        XCTAssertEqual(try decode(Inputs.self, #"{"path": "a.png"}"#).sources, [.path("a.png")])
        XCTAssertEqual(try decode(Inputs.self, #"[{"path": "a.png"}, {"dataset": "d"}]"#).sources, [.path("a.png"), .dataset(name: "d", indices: nil)])
        try roundTrip(Inputs([.path("a"), .png("b")]))
    }

    func testPredictParamsFromAClient() throws {
        let p = try decode(Predict.Params.self, #"{"model": "m", "inputs": {"dataset": "t", "indices": [1]}, "topK": 2, "workDoneToken": "tok"}"#)
        XCTAssertEqual(p.model, "m")
        XCTAssertEqual(p.topK, 2)
        XCTAssertEqual(p.workDoneToken, .string("tok"))
        XCTAssertEqual(try decode(Predict.Params.self, #"{"model": "m", "inputs": {"path": "x"}, "workDoneToken": 7}"#).workDoneToken, .number(7))
    }

    func testModelSummaryShape() throws {
        let s = ModelSummary(name: "m", architecture: "mnist-small", inputShape: [1, 28, 28], classes: ["0"], parameters: 5, fingerprint: "00ff")
        let json = try JSONText.parse(JSONText.serialize(JSONValueCoding.encode(s)))
        XCTAssertEqual(json.objectValue?.keys, ["name", "architecture", "inputShape", "classes", "parameters", "fingerprint"])
        try roundTrip(s)
    }

    func testNoParamsAcceptsAnEmptyObject() throws {
        XCTAssertEqual(try decode(NoParams.self, "{}"), NoParams())
        XCTAssertEqual(JSONText.string(try JSONValueCoding.encode(EmptyResult())), "{}")
        XCTAssertThrowsError(try decode(NoParams.self, #"{"x": 1}"#))   // strict: unknown fields are refused
    }

    /// probe's opt-in: activations' values as one float32 tensor, read back as the same rows.
    func testFloatRowsTakeEitherEncoding() throws {
        let rows: [[Float]] = [[0, 0.5, 1], [2, -3, 0.25]]
        XCTAssertEqual(FloatRows(rows, encoding: nil), .rows(rows))
        let tensor = FloatRows(rows, encoding: .base64)
        guard case .tensor(let t) = tensor else { return XCTFail("\(tensor)") }
        XCTAssertEqual(t.shape, [2, 3])
        XCTAssertEqual(tensor.rows, rows)
        try roundTrip(tensor)
        try roundTrip(FloatRows.rows(rows))
        XCTAssertEqual(try decode(Probe.Params.self, #"{"model": "m", "layer": "8", "kind": "activations", "arrayEncoding": "base64"}"#).arrayEncoding, .base64)
        XCTAssertThrowsError(try decode(Probe.Params.self, #"{"model": "m", "layer": "8", "kind": "activations", "arrayEncoding": "b64"}"#))
    }

    func testEveryMethodIsListedOnce() {
        XCTAssertEqual(Set(Methods.all).count, Methods.all.count)
        XCTAssertTrue(Methods.all.contains("predict"))
    }
}
