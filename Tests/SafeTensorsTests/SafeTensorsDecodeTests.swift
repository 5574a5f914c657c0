/// Decoding hand-built files: every dtype from known bit patterns, F16/BF16 edge cases.
import Foundation
import XCTest
@testable import SafeTensors

final class SafeTensorsDecodeTests: XCTestCase {
    private func single(_ dtype: String, shape: [Int], bytes: [UInt8]) throws -> SafeTensor {
        let s = shape.map(String.init).joined(separator: ",")
        let header = #"{"t":{"dtype":"\#(dtype)","shape":[\#(s)],"data_offsets":[0,\#(bytes.count)]}}"#
        return try XCTUnwrap(SafeTensorsFile.decode(makeFile(header: header, buffer: bytes))["t"])
    }

    func testF16AllCases() throws {
        let bits: [UInt16] = [0x0000, 0x8000, 0x3C00, 0xC000, 0x7BFF, 0x0001, 0x03FF, 0x0400, 0x8001, 0x7C00, 0xFC00, 0x7E00, 0x3555]
        let expected: [Float] = [0, -0.0, 1, -2, 65504, 0x1p-24, 1023 * 0x1p-24, 0x1p-14, -0x1p-24, .infinity, -.infinity, .nan, 0.333251953125]
        let t = try single("F16", shape: [bits.count], bytes: le(bits))
        XCTAssertTrue(sameFloats(t.floats, expected), "\(t.floats)")
        XCTAssertEqual(t.floats[1].sign, .minus)
        XCTAssertEqual(t.dtype, "F16")
        // Exhaustive: every finite half matches the platform's conversion where available.
        #if !(os(macOS) && arch(x86_64))
        for h in UInt16.min...UInt16.max {
            let mine = NarrowFloat.half(h)
            let ref = Float(Float16(bitPattern: h))
            XCTAssertTrue((mine.isNaN && ref.isNaN) || mine.bitPattern == ref.bitPattern, "half 0x\(String(h, radix: 16))")
        }
        #endif
    }

    func testBF16() throws {
        let bits: [UInt16] = [0x3F80, 0xC049, 0x0001, 0x8000, 0x7F80, 0xFF80, 0x7FC0, 0x7F7F]
        let expected: [Float] = [1, -3.140625, Float(bitPattern: 0x0001_0000), -0.0, .infinity, -.infinity, .nan, Float(bitPattern: 0x7F7F_0000)]
        let t = try single("BF16", shape: [2, 4], bytes: le(bits))
        XCTAssertEqual(t.shape, [2, 4])
        XCTAssertTrue(sameFloats(t.floats, expected), "\(t.floats)")
        XCTAssertTrue(t.floats[2].isSubnormal)
    }

    func testIntegerAndOtherDtypes() throws {
        XCTAssertEqual(try single("I64", shape: [3], bytes: le([Int64(0), -5, 1 << 53])).floats, [0, -5, 0x1p53])
        XCTAssertEqual(try single("I32", shape: [2], bytes: le([Int32.min, 9])).floats, [-0x1p31, 9])
        XCTAssertEqual(try single("U8", shape: [3], bytes: [0, 128, 255]).floats, [0, 128, 255])
        XCTAssertEqual(try single("BOOL", shape: [3], bytes: [0, 1, 2]).floats, [0, 1, 1])
        XCTAssertEqual(try single("F64", shape: [2], bytes: le([1.0 / 3.0, -1e300].map(\.bitPattern))).floats, [Float(1.0 / 3.0), -.infinity])
        XCTAssertEqual(try single("F32", shape: [], bytes: le([Float(-7.25)])).floats, [-7.25])
        XCTAssertEqual(try single("F8_E5M2", shape: [2], bytes: [0x3C, 0x7C]).floats, [1, .infinity])
        XCTAssertEqual(try single("F8_E4M3", shape: [3], bytes: [0x38, 0x7E, 0x01]).floats, [1, 448, 0x1p-9])
    }

    func testUnalignedBufferAndWhitespaceAndMetadataAnywhere() throws {
        // Header of odd length (buffer starts unaligned), pretty-printed, metadata last, keys unsorted.
        let header = """
        { "z": {"shape": [2], "dtype": "F32", "data_offsets": [8, 16]},
          "a": {"data_offsets": [0, 8], "dtype": "I64", "shape": [1]},
          "__metadata__": {"k": "v\\u00e9\\n"} }\u{20}\u{20}\u{20}
        """
        let file = try SafeTensorsFile.decode(makeFile(header: header, buffer: le([Int64(3)]) + le([Float(1), 2])))
        XCTAssertEqual(file["a"]?.floats, [3])
        XCTAssertEqual(file["z"]?.floats, [1, 2])
        XCTAssertEqual(file.metadata, ["k": "vé\n"])
    }

    func testEmptyHeaderObjectIsAnEmptyFile() throws {
        let file = try SafeTensorsFile.decode(makeFile(header: "{}      ", buffer: []))
        XCTAssertTrue(file.tensors.isEmpty)
    }

    func testDecodeFromDataSlice() throws {
        let full = Foundation.Data([9, 9, 9]) + makeFile(header: #"{"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}"#, buffer: [7])
        let file = try SafeTensorsFile.decode(full.dropFirst(3))
        XCTAssertEqual(file["t"]?.floats, [7])
    }
}
