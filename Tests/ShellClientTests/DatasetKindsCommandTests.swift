import Foundation
import RPC
import XCTest

/// `advlens dataset load` of the folder kinds through the real shell client and daemon: the
/// options reach the daemon as the protocol's params, and bad ones are refused by name.
final class DatasetKindsCommandTests: XCTestCase {
    var shell: ShellRunner!

    override func setUpWithError() throws { shell = try ShellRunner() }

    override func tearDown() {
        shell?.cleanUp()
        shell = nil
    }

    func testCIFARHundredWithCoarseLabelsAndShapeOption() throws {
        // Three CIFAR-100 records, byte by byte: coarse label, fine label, 3,072 pixels.
        let folder = shell.directory.appendingPathComponent("cifar-100-binary")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var bytes: [UInt8] = []
        for (coarse, fine) in [(4, 10), (4, 11), (9, 12)] as [(UInt8, UInt8)] {
            bytes += [coarse, fine] + (0..<3072).map { UInt8(truncatingIfNeeded: $0 &* Int(fine)) }
        }
        try Data(bytes).write(to: folder.appendingPathComponent("test.bin"))
        let fine = shell.run(["dataset", "load", "c", "--kind", "cifar", "--path", "cifar-100-binary", "--part", "test"],
                             directory: shell.directory)
        XCTAssertEqual(fine.status, 0, fine.stderr)
        XCTAssertEqual(fine.json?["datasets"]?[0]?["classes"]?.arrayValue?.count, 100)
        XCTAssertEqual(fine.json?["datasets"]?[0]?["classSimilarity"], true)
        let coarse = shell.run(["dataset", "load", "c", "--kind", "cifar", "--path", "cifar-100-binary", "--part", "test",
                                "--label-set", "coarse"], directory: shell.directory)
        XCTAssertEqual(coarse.status, 0, coarse.stderr)
        let counts = coarse.json?["datasets"]?[0]?["classCounts"]?.arrayValue?.compactMap(\.intValue) ?? []
        XCTAssertEqual(counts.count, 20)
        XCTAssertEqual(counts[4], 2)
        XCTAssertEqual(counts[9], 1)

        let badPart = shell.run(["dataset", "load", "c", "--kind", "cifar", "--path", "cifar-100-binary", "--part", "val"],
                                directory: shell.directory)
        XCTAssertNotEqual(badPart.status, 0)
        XCTAssertTrue(badPart.stderr.contains("params.part: unknown \"val\""), badPart.stderr)
        let badShape = shell.run(["dataset", "load", "f", "--kind", "imagefolder", "--path", "cifar-100-binary", "--shape", "3,x,4"],
                                 directory: shell.directory)
        XCTAssertNotEqual(badShape.status, 0)
        XCTAssertTrue(badShape.stderr.contains("--shape"), badShape.stderr)
        let noImages = shell.run(["dataset", "load", "f", "--kind", "imagefolder", "--path", ".", "--shape", "3,4,4"],
                                 directory: shell.directory)
        XCTAssertNotEqual(noImages.status, 0)
        XCTAssertTrue(noImages.stderr.contains("no images"), noImages.stderr)
    }

    /// A 24-bit BMP of `width` x `height` RGB pixels (stb_image reads BMP as it reads PNG, and
    /// this target links no image writer).
    func bmp(_ rgb: [(UInt8, UInt8, UInt8)], width: Int, height: Int) -> Data {
        let row = (width * 3 + 3) / 4 * 4
        func le32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        var bytes: [UInt8] = [0x42, 0x4D] + le32(54 + row * height) + le32(0) + le32(54)
        bytes += le32(40) + le32(width) + le32(height) + [1, 0, 24, 0] + le32(0) + le32(row * height) + le32(2835) + le32(2835) + le32(0) + le32(0)
        for y in (0..<height).reversed() {
            for x in 0..<width { let (r, g, b) = rgb[y * width + x]; bytes += [b, g, r] }
            bytes += [UInt8](repeating: 0, count: row - width * 3)
        }
        return Data(bytes)
    }

    /// kind broden with --shape, --categories and --count: a two-image set whose colour maps
    /// label the left half of each image 1 (red-c) and the right half 300 (blue-c, red 44 +
    /// 256 · green 1), and whose scene column labels the whole first image.
    func testBrodenConceptSetWithCategoriesAndCount() throws {
        let root = shell.directory.appendingPathComponent("concepts")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("images"), withIntermediateDirectories: true)
        let map = (0..<64).map { p -> (UInt8, UInt8, UInt8) in p % 8 < 4 ? (1, 0, 0) : (44, 1, 0) }
        for i in 0..<2 {
            try bmp(Array(repeating: (200, 10, 10), count: 64), width: 8, height: 8).write(to: root.appendingPathComponent("images/\(i).bmp"))
            try bmp(map, width: 8, height: 8).write(to: root.appendingPathComponent("images/\(i)_color.bmp"))
        }
        try "image,split,ih,iw,sh,sw,color,scene\n0.bmp,train,8,8,8,8,0_color.bmp,5\n1.bmp,val,8,8,8,8,1_color.bmp,\n"
            .write(to: root.appendingPathComponent("index.csv"), atomically: true, encoding: .utf8)
        try "number,name,category\n1,red-c,color(2)\n5,street,scene(1)\n300,blue-c,color(2)\n"
            .write(to: root.appendingPathComponent("label.csv"), atomically: true, encoding: .utf8)

        let all = shell.run(["dataset", "load", "b", "--kind", "broden", "--path", "concepts", "--shape", "3,8,8"], directory: shell.directory)
        XCTAssertEqual(all.status, 0, all.stderr)
        XCTAssertEqual(all.json?["datasets"]?[0]?["count"], 2)
        XCTAssertEqual(all.json?["datasets"]?[0]?["concepts"]?.arrayValue?.compactMap { $0["name"]?.stringValue }, ["red-c", "street", "blue-c"])
        let colours = shell.run(["dataset", "load", "b", "--kind", "broden", "--path", "concepts", "--shape", "3,8,8",
                                 "--categories", "color", "--count", "1"], directory: shell.directory)
        XCTAssertEqual(colours.status, 0, colours.stderr)
        XCTAssertEqual(colours.json?["datasets"]?[0]?["count"], 1)
        XCTAssertEqual(colours.json?["datasets"]?[0]?["concepts"]?.arrayValue?.compactMap { $0["kind"]?.stringValue }, ["color", "color"])
        let bad = shell.run(["dataset", "load", "b", "--kind", "broden", "--path", "concepts", "--shape", "3,8,8", "--categories", "shape"],
                            directory: shell.directory)
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("params.categories: \"shape\" is not a category column"), bad.stderr)
    }
}
