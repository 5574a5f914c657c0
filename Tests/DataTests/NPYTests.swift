/// NPY files written by the test in every supported dtype and format version, the writer,
/// and the errors for Fortran order, unsupported dtypes and truncated data.
import Foundation
import XCTest
import TensorEngine
import Data

final class NPYTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws { dir = try temporaryDirectory(self) }

    private func load(_ bytes: [UInt8], _ name: String = "a.npy") throws -> Tensor {
        let url = dir.appendingPathComponent(name)
        try writeBytes(bytes, url)
        return try NPY.load(path: url.path)
    }

    private func labels(_ bytes: [UInt8]) throws -> [Int] {
        let url = dir.appendingPathComponent("l.npy")
        try writeBytes(bytes, url)
        return try NPY.loadLabels(path: url.path)
    }

    func testEveryDtypeAndVersion() throws {
        let cases: [(String, [UInt8], [Float])] = [
            ("<f4", leBytes([Float(1.5), -2, 0.1, .infinity].map(\.bitPattern)), [1.5, -2, 0.1, .infinity]),
            (">f4", beBytes([Float(1.5), -2, 0.1, 3].map(\.bitPattern)), [1.5, -2, 0.1, 3]),
            ("<f8", leBytes([1.0 / 3, -1e300, 2, 0].map(\.bitPattern)), [Float(1.0 / 3), -.infinity, 2, 0]),
            ("|u1", [0, 17, 200, 255], [0, 17, 200, 255]),
            ("<i8", leBytes([Int64(-5), 0, 1 << 40, 255]), [-5, 0, 0x1p40, 255]),
            (">i8", beBytes([Int64(-5), 0, 1 << 40, 255]), [-5, 0, 0x1p40, 255]),
            ("<i4", leBytes([Int32(-7), 1, 2, 3]), [-7, 1, 2, 3]),
            ("<i2", leBytes([Int16(-7), 1, 2, 3]), [-7, 1, 2, 3]),
            ("|i1", [0xFF, 1, 2, 0x80], [-1, 1, 2, -128]),
            ("<u2", leBytes([UInt16(65535), 1, 2, 3]), [65535, 1, 2, 3]),
            ("<u4", leBytes([UInt32(7), 1, 2, 3]), [7, 1, 2, 3]),
            ("<u8", leBytes([UInt64(7), 1, 2, 3]), [7, 1, 2, 3]),
            ("|b1", [1, 0, 0, 1], [1, 0, 0, 1]),
        ]
        for major: UInt8 in [1, 2, 3] {
            for (descr, data, expected) in cases {
                let t = try load(npyFile(major: major, descr: descr, shape: "(2, 2)", data: data))
                XCTAssertEqual(t.shape, [2, 2], "\(descr) v\(major)")
                XCTAssertEqual(t.data, expected, "\(descr) v\(major)")
            }
        }
    }

    func testShapesScalarEmptyAndGzip() throws {
        let one = try load(npyFile(major: 1, descr: "<f4", shape: "(3,)", data: leBytes([Float(1), 2, 3].map(\.bitPattern))))
        XCTAssertEqual(one.shape, [3])
        let scalar = try load(npyFile(major: 1, descr: "<f8", shape: "()", data: leBytes([(2.5).bitPattern])))
        XCTAssertEqual(scalar.shape, [])
        XCTAssertEqual(scalar.data, [2.5])
        let empty = try load(npyFile(major: 1, descr: "<f4", shape: "(0, 5)", data: []))
        XCTAssertEqual(empty.shape, [0, 5])
        let py2 = try load(npyFile(major: 1, descr: "|u1", shape: "(2L,)", data: [3, 4]))
        XCTAssertEqual(py2.data, [3, 4])
        let url = dir.appendingPathComponent("z.npy.gz")
        try Gzip.writeFile(npyFile(major: 1, descr: "|u1", shape: "(1, 2)", data: [9, 8]), to: url.path, compressed: true)
        XCTAssertEqual(try NPY.load(path: url.path).data, [9, 8])
    }

    func testWriteRoundTripAndLayout() throws {
        let t = Tensor(shape: [2, 1, 3], data: [0, -1, 0.5, 1e-30, .greatestFiniteMagnitude, 3])
        let url = dir.appendingPathComponent("w.npy")
        try NPY.write(t, to: url.path)
        XCTAssertEqual(try NPY.load(path: url.path), t)
        let bytes = [UInt8](try Foundation.Data(contentsOf: url))
        XCTAssertEqual(Array(bytes[0..<8]), [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0])
        let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        XCTAssertEqual((10 + headerLength) % 64, 0)
        XCTAssertEqual(bytes[10 + headerLength - 1], 0x0A)
        let header = String(decoding: bytes[10..<(10 + headerLength)], as: UTF8.self)
        XCTAssertTrue(header.hasPrefix("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 1, 3), }"), header)
        XCTAssertEqual(bytes.count, 10 + headerLength + 24)
        for shape in [[Int](), [4]] {
            let s = Tensor(shape: shape, repeating: 2)
            try NPY.write(s, to: url.path)
            XCTAssertEqual(try NPY.load(path: url.path), s)
        }
        let h1 = String(decoding: try Foundation.Data(contentsOf: url).prefix(70), as: UTF8.self)
        XCTAssertTrue(h1.contains("'shape': (4,)"), h1)
    }

    /// Labels written as '<i8' read back here and in numpy's layout.
    func testWriteLabelsRoundTrip() throws {
        let url = dir.appendingPathComponent("labels.npy")
        try NPY.writeLabels([3, 0, -2, 9], to: url.path)
        XCTAssertEqual(try NPY.loadLabels(path: url.path), [3, 0, -2, 9])
        XCTAssertEqual(try NPY.dtype(path: url.path), "<i8")
        let bytes = [UInt8](try Foundation.Data(contentsOf: url))
        XCTAssertEqual(bytes.count % 64, 32)
    }

    func testLabels() throws {
        XCTAssertEqual(try labels(npyFile(major: 1, descr: "<i8", shape: "(3,)", data: leBytes([Int64(3), 0, 9]))), [3, 0, 9])
        XCTAssertEqual(try labels(npyFile(major: 1, descr: "|u1", shape: "(2,)", data: [7, 255])), [7, 255])
        XCTAssertEqual(try labels(npyFile(major: 2, descr: ">i4", shape: "(2,)", data: beBytes([Int32(-1), 5]))), [-1, 5])
        assertDataError(try labels(npyFile(major: 1, descr: "<f4", shape: "(1,)", data: leBytes([Float(1).bitPattern]))),
                        mentions: ["l.npy", "integer array", "'<f4'"])
        assertDataError(try labels(npyFile(major: 1, descr: "<i8", shape: "(1, 1)", data: leBytes([Int64(1)]))),
                        mentions: ["1-D", "[1, 1]"])
        assertDataError(try labels(npyFile(major: 1, descr: "<u8", shape: "(1,)", data: leBytes([UInt64.max]))),
                        mentions: ["index 0", "does not fit"])
    }

    func testErrors() throws {
        let f4 = leBytes([Float(1), 2, 3, 4].map(\.bitPattern))
        assertDataError(try load(npyFile(major: 1, descr: "<f4", shape: "(2, 2)", fortran: true, data: f4)),
                        mentions: ["a.npy", "fortran_order is True"])
        assertDataError(try load(npyFile(major: 1, descr: "<f4", shape: "(2, 2)", data: Array(f4.dropLast()))),
                        mentions: ["a.npy", "truncated data", "needs 16 bytes, 15 present"])
        assertDataError(try load(npyFile(major: 3, descr: "<f4", shape: "(2, 2)", data: f4 + [0])), mentions: ["unexpected bytes"])
        assertDataError(try load(npyFile(major: 1, descr: "<c8", shape: "(1,)", data: [])), mentions: ["unsupported dtype '<c8'"])
        assertDataError(try load(npyFile(major: 1, descr: "<U3", shape: "(1,)", data: [])), mentions: ["unsupported dtype '<U3'"])
        assertDataError(try load(npyFile(major: 1, descr: "<f4", shape: "(-1,)", data: [])), mentions: ["a.npy"])
        assertDataError(try load(npyFile(major: 1, descr: "<f4", shape: "(4294967296, 4294967296)", data: [])), mentions: ["too large"])
        var v4 = npyFile(major: 1, descr: "<f4", shape: "(1,)", data: f4)
        v4[6] = 4
        assertDataError(try load(v4), mentions: ["unsupported NPY format version 4.0"])
        assertDataError(try load(Array("not numpy at all".utf8)), mentions: ["not an NPY file"])
        assertDataError(try load(Array(npyFile(major: 1, descr: "<f4", shape: "(1,)", data: []).prefix(30))), mentions: ["truncated NPY header"])
        let structured = Array("{'descr': [('x', '<f4')], 'fortran_order': False, 'shape': (1,), }".utf8)
        var s: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(structured.count + 1), 0] + structured + [0x0A]
        s += leBytes([Float(1).bitPattern])
        assertDataError(try load(s), mentions: ["structured dtypes"])
        assertDataError(try load(npyFile(major: 1, descr: "<f4", shape: "[2]", data: [])), mentions: ["a.npy", "'shape'"])
        assertDataError(try load(npyFile(major: 1, descr: "<f4", shape: "(2, x)", data: [])), mentions: ["malformed NPY header", "expected an integer"])
        assertDataError(try NPY.load(path: dir.appendingPathComponent("missing.npy").path), mentions: ["missing.npy", "cannot open"])
    }
}
