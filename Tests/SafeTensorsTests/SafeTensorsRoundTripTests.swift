/// Round trips through the writer and reader, atomic writes, and agreement with files
/// written by the official Python `safetensors` package (fixtures).
import Foundation
import XCTest
@testable import SafeTensors

final class SafeTensorsRoundTripTests: XCTestCase {
    let sample: [(name: String, shape: [Int], floats: [Float])] = [
        ("b.weight", [2, 3], [1, -2, 3.5, .infinity, -0.0, Float(bitPattern: 0x0001_16C2)]),
        ("a.bias", [3], [0.5, 0.25, -8]),
        ("bn.num_batches_tracked", [], [42]),
        ("empty", [0, 4], []),
    ]

    func testRoundTripKeepsValuesShapesAndMetadata() throws {
        let data = try SafeTensorsFile.encode(tensors: sample, metadata: ["format": "pt", "arch": "lenet \"5\""],
                                              dtypes: ["bn.num_batches_tracked": "I64"])
        let file = try SafeTensorsFile.decode(data)
        XCTAssertEqual(file.names, ["a.bias", "b.weight", "bn.num_batches_tracked", "empty"])
        XCTAssertEqual(file.metadata, ["format": "pt", "arch": "lenet \"5\""])
        for t in sample {
            let got = try XCTUnwrap(file[t.name])
            XCTAssertEqual(got.shape, t.shape)
            XCTAssertTrue(sameFloats(got.floats, t.floats), "\(t.name): \(got.floats)")
        }
        XCTAssertEqual(file["bn.num_batches_tracked"]?.dtype, "I64")
        XCTAssertEqual(file["b.weight"]?.dtype, "F32")
        // Re-encoding what was read gives the same bytes.
        XCTAssertEqual(try file.encoded(), data)
    }

    func testHeaderIsPaddedToEightAndLaidOutLikeTheReference() throws {
        let data = try SafeTensorsFile.encode(tensors: sample, metadata: [:], dtypes: ["bn.num_batches_tracked": "I64"])
        let n = Int(data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        XCTAssertEqual(n % 8, 0)
        let header = String(decoding: data[8..<(8 + n)], as: UTF8.self)
        XCTAssertFalse(header.contains("__metadata__"), "empty metadata is omitted")
        // I64 (8-byte) first, then F32 by name.
        XCTAssertTrue(header.hasPrefix(#"{"bn.num_batches_tracked":{"dtype":"I64","shape":[],"data_offsets":[0,8]},"a.bias":{"dtype":"F32","shape":[3],"data_offsets":[8,20]}"#), header)
        XCTAssertEqual(data.count, 8 + n + 8 + 12 + 24)
    }

    func testEncoderMatchesOfficialPackageByteForByte() throws {
        let reference = try Foundation.Data(contentsOf: fixtureURL("reference_f32_i64.safetensors"))
        let file = try SafeTensorsFile.decode(reference)
        XCTAssertEqual(file.metadata, ["format": "pt"])
        XCTAssertEqual(file["bn.num_batches_tracked"]?.floats, [1234])
        XCTAssertEqual(file["conv.weight"]?.shape, [2, 3, 2, 2])
        XCTAssertEqual(file["conv.weight"]?.floats.first, (0 - 11.5) / 3)
        let list = [("conv.weight", file["conv.weight"]!), ("conv.bias", file["conv.bias"]!),
                    ("bn.running_mean", file["bn.running_mean"]!), ("bn.num_batches_tracked", file["bn.num_batches_tracked"]!)]
            .map { (name: $0.0, shape: $0.1.shape, floats: $0.1.floats) }
        let mine = try SafeTensorsFile.encode(tensors: list, metadata: ["format": "pt"], dtypes: ["bn.num_batches_tracked": "I64"])
        XCTAssertEqual(mine, reference)
    }

    func testReadsEveryNumpyDtypeFromOfficialPackage() throws {
        let file = try SafeTensorsFile.read(contentsOf: fixtureURL("reference_numpy.safetensors"))
        XCTAssertEqual(file.metadata, ["format": "np", "note": "edge values"])
        XCTAssertEqual(file["f64"]?.floats, [1.5, -2.25, .infinity, 0.1, -0.0, 3.0])
        XCTAssertEqual(file["f64"]?.shape, [2, 3])
        XCTAssertEqual(file["f32"]?.floats, (0..<12).map { Float($0) / 8 })
        XCTAssertTrue(sameFloats(file["f16"]!.floats, [0, -0.0, 1, -2.5, 65504, 0x1p-24, 0x1p-14, .infinity, -.infinity, .nan]))
        XCTAssertEqual(file["f16"]?.floats[1].sign, .minus)
        XCTAssertEqual(file["i64"]?.floats, [0, -1, 0x1p40, 7])
        XCTAssertEqual(file["i32"]?.floats, [-0x1p31, 0x1p31, 5])
        XCTAssertEqual(file["i16"]?.floats, [-32768, 32767])
        XCTAssertEqual(file["i8"]?.floats, [-128, 127])
        XCTAssertEqual(file["u64"]?.floats, [0, Float(123456789 as Int)])
        XCTAssertEqual(file["u32"]?.floats, [0x1p32])
        XCTAssertEqual(file["u16"]?.floats, [65535, 1])
        XCTAssertEqual(file["u8"]?.floats, [0, 255, 17, 1])
        XCTAssertEqual(file["bool"]?.floats, [1, 0, 1])
        XCTAssertEqual(file["bool"]?.dtype, "BOOL")
        XCTAssertEqual(file["scalar"]?.shape, [])
        XCTAssertEqual(file["scalar"]?.floats, [3.5])
        XCTAssertEqual(file["empty"]?.shape, [0, 3])
        XCTAssertEqual(file["empty"]?.floats, [])
    }

    func testReadsBFloat16AndFloat8FromTorch() throws {
        let url = fixtureURL("reference_torch.safetensors")
        let file = try SafeTensorsFile.read(contentsOf: url)
        XCTAssertTrue(sameFloats(file["bf16"]!.floats,
                                 [0, -1, 3.140625, Float(bitPattern: 0x0001_0000), Float(bitPattern: 0x7F62_0000), .infinity, -.infinity, .nan]),
                      "\(file["bf16"]!.floats)")
        XCTAssertTrue(sameFloats(file["f8_e4m3"]!.floats, [0, -1.5, 448, 0x1p-9, 0.1015625, .nan]), "\(file["f8_e4m3"]!.floats)")
        XCTAssertEqual(file["f8_e5m2"]?.floats, [0, -1.5, 57344, 0x1p-16, .infinity])
    }

    func testAtomicWriteReplacesFileAndLeavesNoTemporaries() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("st-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("model.safetensors")
        try SafeTensorsFile.write(tensors: [("w", [2], [1, 2])], to: url)
        try SafeTensorsFile.write(tensors: [("w", [3], [4, 5, 6])], metadata: ["v": "2"], to: url)
        let file = try SafeTensorsFile.read(contentsOf: url)
        XCTAssertEqual(file["w"]?.floats, [4, 5, 6])
        XCTAssertEqual(file.metadata, ["v": "2"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["model.safetensors"])
    }

    func testWriteIntoMissingDirectoryFailsWithPath() {
        let url = URL(fileURLWithPath: "/nonexistent-\(UUID().uuidString)/m.safetensors")
        XCTAssertThrowsError(try SafeTensorsFile.write(tensors: [("w", [1], [1])], to: url)) { e in
            XCTAssertTrue("\(e)".contains(url.path), "\(e)")
        }
        XCTAssertThrowsError(try SafeTensorsFile.read(contentsOf: url)) { e in
            XCTAssertTrue("\(e)".contains(url.path), "\(e)")
        }
    }

    func testEncoderRejectsBadTensorsNamingThem() {
        func check(_ t: [(name: String, shape: [Int], floats: [Float])], dtypes: [String: String] = [:], _ words: String) {
            XCTAssertThrowsError(try SafeTensorsFile.encode(tensors: t, metadata: [:], dtypes: dtypes)) { e in
                XCTAssertTrue("\(e)".contains(words), "\(e)")
            }
        }
        check([("w", [2, 2], [1, 2, 3])], "'w'")
        check([("w", [-1], [])], "negative")
        check([("w", [1], [1]), ("w", [1], [2])], "twice")
        check([("__metadata__", [1], [1])], "reserved")
        check([("n", [1], [1.5])], dtypes: ["n": "I64"], "not an integer")
        check([("h", [1], [1])], dtypes: ["h": "F16"], "cannot write dtype 'F16'")
    }
}
