import Foundation
import XCTest
@testable import Protocol

/// Protocol types against golden JSON: what a client writes decodes, and what the server
/// writes has the documented shape and round-trips.
final class WireFormatTests: XCTestCase {
    func decode<T: Decodable>(_ type: T.Type, _ json: String) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(json.utf8))
    }

    func roundTrip<T: Codable & Equatable>(_ value: T, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(try JSONDecoder().decode(T.self, from: JSONEncoder().encode(value)), value, file: file, line: line)
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
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(s)) as! [String: Any]
        XCTAssertEqual(Set(json.keys), ["name", "architecture", "inputShape", "classes", "parameters", "fingerprint"])
        try roundTrip(s)
    }

    func testNoParamsAcceptsAnEmptyObject() throws {
        XCTAssertEqual(try decode(NoParams.self, "{}"), NoParams())
        XCTAssertEqual(String(decoding: try JSONEncoder().encode(EmptyResult()), as: UTF8.self), "{}")
    }

    func testEveryMethodIsListedOnce() {
        XCTAssertEqual(Set(Methods.all).count, Methods.all.count)
        XCTAssertTrue(Methods.all.contains("predict"))
    }
}
