/// Helpers for the Data tests: the package root, temporary directories, and byte builders
/// for IDX and NPY files.
import Foundation
import XCTest
import Data

/// The package root, found from this source file (Tests/DataTests/ -> ../..).
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// Path of the real MNIST 5k file; fails the test (not skips) if it was not fetched.
func mnist5kPath(file: StaticString = #filePath, line: UInt = #line) throws -> String {
    let path = packageRoot.appendingPathComponent("data/mnist_5k.csv.gz").path
    guard FileManager.default.fileExists(atPath: path) else {
        XCTFail("\(path) is missing: run `make data` (scripts/fetch_data.sh) first", file: file, line: line)
        throw DataError.io(path: path, reason: "missing; run `make data`")
    }
    return path
}

/// A fresh temporary directory, removed when the test ends.
func temporaryDirectory(_ test: XCTestCase) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("advlens-data-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
    return dir
}

func bigEndian32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }

/// IDX image file bytes: magic 0x803, count, rows, cols, pixels.
func idxImages(count: Int, rows: Int, cols: Int, pixels: [UInt8]) -> [UInt8] {
    bigEndian32(0x803) + bigEndian32(UInt32(count)) + bigEndian32(UInt32(rows)) + bigEndian32(UInt32(cols)) + pixels
}

/// IDX label file bytes: magic 0x801, count, labels.
func idxLabels(_ labels: [UInt8]) -> [UInt8] { bigEndian32(0x801) + bigEndian32(UInt32(labels.count)) + labels }

/// NPY file bytes with the given version, descr, shape text and raw data, header padded to 64.
func npyFile(major: UInt8, descr: String, shape: String, fortran: Bool = false, data: [UInt8]) -> [UInt8] {
    let dict = Array("{'descr': '\(descr)', 'fortran_order': \(fortran ? "True" : "False"), 'shape': \(shape), }".utf8)
    let prefix = major == 1 ? 10 : 12
    let total = (prefix + dict.count + 1 + 63) / 64 * 64
    let length = total - prefix
    var out: [UInt8] = [0x93] + Array("NUMPY".utf8) + [major, 0]
    for k in 0..<(major == 1 ? 2 : 4) { out.append(UInt8(truncatingIfNeeded: length >> (8 * k))) }
    return out + dict + [UInt8](repeating: 0x20, count: length - dict.count - 1) + [0x0A] + data
}

func leBytes<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
    values.flatMap { v in withUnsafeBytes(of: v.littleEndian) { Array($0) } }
}

func beBytes<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
    values.flatMap { v in withUnsafeBytes(of: v.bigEndian) { Array($0) } }
}

func writeBytes(_ bytes: [UInt8], _ url: URL) throws {
    try Foundation.Data(bytes).write(to: url)
}

/// Asserts `body` throws a DataError whose message contains every one of `words`.
func assertDataError<T>(_ body: @autoclosure () throws -> T, mentions words: [String],
                        file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertThrowsError(try body(), file: file, line: line) { e in
        XCTAssertTrue(e is DataError, "not a DataError: \(e)", file: file, line: line)
        for w in words {
            XCTAssertTrue("\(e)".contains(w), "'\(e)' does not mention '\(w)'", file: file, line: line)
        }
    }
}
