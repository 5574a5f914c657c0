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
}
