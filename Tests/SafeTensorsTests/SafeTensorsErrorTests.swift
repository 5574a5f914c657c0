/// Malformed and hostile files: each gives its own error, naming the key or field at fault,
/// and none crashes.
import Foundation
import XCTest
@testable import SafeTensors

final class SafeTensorsErrorTests: XCTestCase {
    private func entry(_ key: String = "w", dtype: String = "F32", shape: String = "[2]", offsets: String = "[0,8]") -> String {
        #"{"\#(key)":{"dtype":"\#(dtype)","shape":\#(shape),"data_offsets":\#(offsets)}}"#
    }

    func testTruncatedAndBadHeaderLength() {
        assertDecodeError(Foundation.Data([1, 2, 3]), .truncatedFile(size: 3), mentions: "truncated")
        assertDecodeError(Foundation.Data(le([UInt64.max])), .headerTooLarge(length: .max, limit: 100_000_000))
        assertDecodeError(Foundation.Data(le([UInt64(1) << 62])), .headerTooLarge(length: 1 << 62, limit: 100_000_000))
        var d = Foundation.Data(le([UInt64(50)]))
        d.append(contentsOf: Array("{}".utf8))
        assertDecodeError(d, .headerLengthBeyondFile(length: 50, fileSize: 10), mentions: "beyond the end")
    }

    /// torch.save's files (a zip archive since PyTorch 1.6, a pickle before) are named as such,
    /// with what to do, instead of "header length 578712552184433488 exceeds the limit".
    func testPyTorchCheckpointsAreRecognised() {
        // The first bytes of a real torch.save file: a zip local-file header naming archive/data.pkl,
        // and a legacy protocol-2 pickle starting with torch's magic number.
        let zip = Foundation.Data([0x50, 0x4B, 0x03, 0x04, 0x00, 0x00, 0x08, 0x08, 0x00, 0x00] + Array("archive/data.pkl".utf8))
        assertDecodeError(zip, .pytorchCheckpoint(zip: true), mentions: "safetensors.torch.save_file")
        let pickle = Foundation.Data([0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19])
        assertDecodeError(pickle, .pytorchCheckpoint(zip: false), mentions: "onnx")
        // A real safetensors file whose header length happens to start with the same bytes is read as one.
        let header = "{" + String(repeating: " ", count: 0x280 - 2) + "}"
        let file = makeFile(header: header, buffer: [])
        XCTAssertEqual(Array(file.prefix(2)), [0x80, 0x02])
        XCTAssertNoThrow(try SafeTensorsFile.decode(file))
    }

    func testMalformedHeaders() {
        for bad in ["", "{", "{\"a\":}", "[1,2", "{\"a\" 1}", "{\"a\":tru}", "{\"a\":01}", "{} x", "{\"a\":\"\\q\"}", "{'a':1}",
                    String(repeating: "[", count: 1000)] {
            let data = makeFile(header: bad, buffer: [])
            XCTAssertThrowsError(try SafeTensorsFile.decode(data), bad) { e in
                guard case SafeTensorsError.malformedHeader(let reason) = e else { return XCTFail("\(bad): \(e)") }
                XCTAssertTrue(reason.contains("at byte"), reason)
            }
        }
        assertDecodeError(makeFile(header: "[]", buffer: []), .headerNotObject)
        assertDecodeError(Foundation.Data(le([UInt64(2)]) + [0xFF, 0xFE]), .headerNotUTF8)
    }

    func testUnknownDtypeNamesKey() {
        assertDecodeError(makeFile(header: entry("layer.w", dtype: "Q4"), buffer: Array(repeating: 0, count: 8)),
                          .unknownDtype(key: "layer.w", dtype: "Q4"), mentions: "'layer.w'")
    }

    func testBadFieldsNameKeyAndField() {
        let buf = [UInt8](repeating: 0, count: 8)
        let cases: [(String, String)] = [
            (entry(shape: "[2.0]"), "shape"),
            (entry(shape: "[-2]"), "shape"),
            (entry(shape: "[1e1]"), "shape"),
            (entry(shape: "\"2\""), "shape"),
            (entry(shape: "[99999999999999999999999]"), "shape"),
            (entry(offsets: "[0]"), "data_offsets"),
            (entry(offsets: "[0,8,9]"), "data_offsets"),
            (entry(offsets: "[-8,0]"), "data_offsets"),
            (#"{"w":{"shape":[2],"data_offsets":[0,8]}}"#, "dtype"),
            (#"{"w":{"dtype":5,"shape":[2],"data_offsets":[0,8]}}"#, "dtype"),
            (#"{"w":{"dtype":"F32","data_offsets":[0,8]}}"#, "shape"),
            (#"{"w":[1]}"#, "(entry)"),
        ]
        for (header, field) in cases {
            XCTAssertThrowsError(try SafeTensorsFile.decode(makeFile(header: header, buffer: buf)), header) { e in
                guard case SafeTensorsError.invalidEntry(let k, let f, _) = e else { return XCTFail("\(header): \(e)") }
                XCTAssertEqual(k, "w")
                XCTAssertEqual(f, field, header)
                XCTAssertTrue("\(e)".contains("'w'") && "\(e)".contains(field), "\(e)")
            }
        }
    }

    func testShapeOverflow() {
        let huge = "[4294967296,4294967296]"
        assertDecodeError(makeFile(header: entry(shape: huge), buffer: []),
                          .shapeOverflow(key: "w", shape: [4_294_967_296, 4_294_967_296]), mentions: "'w'")
        let justBig = "[\(Int.max / 2)]"  // fits as a count, overflows as bytes
        assertDecodeError(makeFile(header: entry(shape: justBig), buffer: []), .shapeOverflow(key: "w", shape: [Int.max / 2]))
    }

    func testOffsetsOutOfRange() {
        assertDecodeError(makeFile(header: entry(offsets: "[0,16]"), buffer: Array(repeating: 0, count: 8)),
                          .offsetsOutOfRange(key: "w", begin: 0, end: 16, bufferSize: 8), mentions: "'w'")
        assertDecodeError(makeFile(header: entry(offsets: "[8,0]"), buffer: Array(repeating: 0, count: 8)),
                          .offsetsOutOfRange(key: "w", begin: 8, end: 0, bufferSize: 8))
        assertDecodeError(makeFile(header: entry(offsets: "[0,\(Int.max)]"), buffer: []),
                          .offsetsOutOfRange(key: "w", begin: 0, end: Int.max, bufferSize: 0))
    }

    func testByteLengthMismatch() {
        assertDecodeError(makeFile(header: entry(dtype: "F16", shape: "[2]", offsets: "[0,8]"), buffer: Array(repeating: 0, count: 8)),
                          .byteLengthMismatch(key: "w", dtype: "F16", shape: [2], expected: 4, actual: 8), mentions: "'w'")
    }

    func testOverlapGapAndCoverage() {
        let two = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
        assertDecodeError(makeFile(header: two, buffer: Array(repeating: 0, count: 12)),
                          .overlappingOffsets(key: "b", other: "a"), mentions: "'b'")
        let gap = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#
        assertDecodeError(makeFile(header: gap, buffer: Array(repeating: 0, count: 12)),
                          .gapBeforeTensor(key: "b", expectedBegin: 4, begin: 8), mentions: "'b'")
        assertDecodeError(makeFile(header: entry(), buffer: Array(repeating: 0, count: 12)),
                          .bufferSizeMismatch(covered: 8, bufferSize: 12))
        // Unsorted offsets in header order are fine (the reference sorts them too).
        let unsorted = #"{"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#
        XCTAssertNoThrow(try SafeTensorsFile.decode(makeFile(header: unsorted, buffer: le([Float(1), 2]))))
    }

    func testDuplicateKeysAndBadMetadata() {
        let dup = #"{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}"#
        assertDecodeError(makeFile(header: dup, buffer: [0]), .duplicateKey(key: "w"), mentions: "'w'")
        assertDecodeError(makeFile(header: #"{"__metadata__":{"epoch":3}}"#, buffer: []),
                          .invalidMetadata(key: "epoch", reason: "expected a string value, found the number 3"), mentions: "'epoch'")
        assertDecodeError(makeFile(header: #"{"__metadata__":[1]}"#, buffer: []),
                          .invalidMetadata(key: nil, reason: "expected an object of strings, found an array"))
    }

    func testRandomGarbageNeverCrashes() {
        var rng = SystemRandomNumberGenerator()
        let valid = try! SafeTensorsFile.encode(tensors: [("a", [2, 2], [1, 2, 3, 4]), ("b", [3], [5, 6, 7])], metadata: ["k": "v"])
        for _ in 0..<2000 {
            var bytes = [UInt8](valid)
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            if Bool.random(using: &rng) { bytes.removeLast(Int.random(in: 0..<bytes.count, using: &rng)) }
            _ = try? SafeTensorsFile.decode(Foundation.Data(bytes))
        }
    }
}
