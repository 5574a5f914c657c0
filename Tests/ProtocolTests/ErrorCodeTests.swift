import Protocol
import RPC
import XCTest

/// AdvLens's own codes are the numbers protocol/errors.md documents, in JSON-RPC's server
/// block and apart from the transport's codes.
final class ErrorCodeTests: XCTestCase {
    func testServerCodesAreTheDocumentedOnes() throws {
        let codes = [AdvLensErrorCode.notFound, AdvLensErrorCode.shapeMismatch, AdvLensErrorCode.resourceLimit,
                     AdvLensErrorCode.ioError, AdvLensErrorCode.pathOutsideRoot]
        XCTAssertEqual(codes, [-32001, -32010, -32011, -32012, -32013])
        XCTAssertTrue(codes.allSatisfy { (-32099)...(-32000) ~= $0 })
        let transport = [ErrorCode.parseError, ErrorCode.invalidRequest, ErrorCode.methodNotFound, ErrorCode.invalidParams,
                         ErrorCode.internalError, ErrorCode.serverNotInitialized, ErrorCode.requestCancelled]
        XCTAssertTrue(Set(codes).isDisjoint(with: transport))
        let spec = try String(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../protocol/errors.md").standardized, encoding: .utf8)
        for code in codes { XCTAssertTrue(spec.contains(String(code)), "protocol/errors.md documents \(code)") }
    }
}
