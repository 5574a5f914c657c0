/// IDX files written by the test (plain and gzipped through zlib), and their errors.
import Foundation
import XCTest
import Data

final class MNISTIDXTests: XCTestCase {
    let pixels: [UInt8] = (0..<(3 * 2 * 4)).map { UInt8($0 * 10) }
    let labels: [UInt8] = [7, 0, 9]

    func testRoundTripPlainAndGzipped() throws {
        let dir = try temporaryDirectory(self)
        for compressed in [false, true] {
            let ext = compressed ? ".gz" : ""
            let images = dir.appendingPathComponent("t10k-images-idx3-ubyte\(ext)").path
            let labelPath = dir.appendingPathComponent("t10k-labels-idx1-ubyte\(ext)").path
            try Gzip.writeFile(idxImages(count: 3, rows: 2, cols: 4, pixels: pixels), to: images, compressed: compressed)
            try Gzip.writeFile(idxLabels(labels), to: labelPath, compressed: compressed)
            let ds = try MNISTIDX.load(images: images, labels: labelPath)
            XCTAssertEqual(ds.name, "t10k-images")
            XCTAssertEqual(ds.images.shape, [3, 1, 2, 4])
            XCTAssertEqual(ds.labels, [7, 0, 9])
            XCTAssertEqual(ds.images.data, pixels.map { Float($0) / 255 })
            XCTAssertEqual(ds.classes.count, 10)
        }
    }

    func testValidation() throws {
        func parse(_ images: [UInt8], _ labels: [UInt8]) throws -> Dataset {
            try MNISTIDX.parse(images: images, labels: labels, name: "t", imagesPath: "img.idx", labelsPath: "lab.idx")
        }
        let good = idxImages(count: 3, rows: 2, cols: 4, pixels: pixels)
        XCTAssertNoThrow(try parse(good, idxLabels(labels)))
        assertDataError(try parse(Array(good.dropLast()), idxLabels(labels)), mentions: ["img.idx", "3 images of 2x4"])
        assertDataError(try parse(good + [0], idxLabels(labels)), mentions: ["img.idx", "1 unexpected bytes"])
        assertDataError(try parse(good, idxLabels([1, 2])), mentions: ["lab.idx", "holds 2 labels", "holds 3 images"])
        assertDataError(try parse(good, Array(idxLabels(labels).dropLast())), mentions: ["lab.idx", "truncated"])
        assertDataError(try parse(good, idxLabels([1, 2, 10])), mentions: ["lab.idx", "label 10 of item 2 out of range"])
        assertDataError(try parse(idxLabels(labels), idxLabels(labels)), mentions: ["img.idx", "bad IDX magic 0x00000801", "0x00000803"])
        assertDataError(try parse(good, good), mentions: ["lab.idx", "bad IDX magic 0x00000803"])
        assertDataError(try parse([0, 0, 8], idxLabels(labels)), mentions: ["img.idx", "truncated IDX header"])
        let huge = bigEndian32(0x803) + bigEndian32(.max) + bigEndian32(.max) + bigEndian32(.max)
        assertDataError(try parse(huge, bigEndian32(0x801) + bigEndian32(.max)), mentions: ["img.idx"])
        let dir = try temporaryDirectory(self)
        let bad = dir.appendingPathComponent("bad.gz")
        try writeBytes([0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 3, 0xFF, 0xFF, 0xFF], bad)
        assertDataError(try MNISTIDX.load(images: bad.path, labels: bad.path), mentions: ["bad.gz"])
    }
}
