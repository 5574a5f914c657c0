import SwiftProtobuf
import XCTest
@testable import ONNX

/// The generated messages round-trip through their binary form (the file format of `.onnx`).
final class ONNXProtoTests: XCTestCase {
    func testModelProtoRoundTrip() throws {
        var model = Onnx_ModelProto()
        model.irVersion = 8
        var opset = Onnx_OperatorSetIdProto()
        opset.version = 13
        model.opsetImport = [opset]
        model.graph.name = "g"
        let bytes: Data = try model.serializedData()
        let back = try Onnx_ModelProto(serializedBytes: bytes)
        XCTAssertEqual(back.irVersion, 8)
        XCTAssertEqual(back.opsetImport.first?.version, 13)
        XCTAssertEqual(back.graph.name, "g")
    }
}
