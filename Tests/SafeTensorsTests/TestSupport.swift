/// Helpers for the safetensors tests: hand-built files and fixture paths.
import Foundation
import XCTest
@testable import SafeTensors

/// A safetensors file from a raw header string and raw buffer bytes (no padding added).
func makeFile(header: String, buffer: [UInt8]) -> Foundation.Data {
    let h = Array(header.utf8)
    var out = [UInt8]()
    withUnsafeBytes(of: UInt64(h.count).littleEndian) { out.append(contentsOf: $0) }
    return Foundation.Data(out + h + buffer)
}

/// Little-endian bytes of fixed-width integers.
func le<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
    values.flatMap { v in withUnsafeBytes(of: v.littleEndian) { Array($0) } }
}

func le(_ values: [Float]) -> [UInt8] { le(values.map(\.bitPattern)) }

/// URL of a file in Tests/SafeTensorsTests/Fixtures (located from this source file, so no
/// resources declaration is needed).
func fixtureURL(_ name: String) -> URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").appendingPathComponent(name)
}

/// Asserts that decoding `data` throws `expected`, and that its message contains `mentions`.
func assertDecodeError(_ data: Foundation.Data, _ expected: SafeTensorsError, mentions: String? = nil,
                       file: StaticString = #filePath, line: UInt = #line) {
    do {
        let f = try SafeTensorsFile.decode(data)
        XCTFail("decoded without error: \(f.names)", file: file, line: line)
    } catch let e as SafeTensorsError {
        XCTAssertEqual(e, expected, file: file, line: line)
        if let mentions {
            XCTAssertTrue(e.description.contains(mentions), "'\(e.description)' does not mention '\(mentions)'", file: file, line: line)
        }
    } catch {
        XCTFail("unexpected error type: \(error)", file: file, line: line)
    }
}

/// Bitwise float equality that treats all NaNs alike.
func sameFloats(_ a: [Float], _ b: [Float]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { ($0.isNaN && $1.isNaN) || $0.bitPattern == $1.bitPattern }
}
