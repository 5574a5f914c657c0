import Foundation
import RPC
import XCTest

/// `advlens dataset load --kind shapes` through the real shell client and daemon.
final class ShapesCommandTests: XCTestCase {
    var shell: ShellRunner!

    override func setUpWithError() throws { shell = try ShellRunner() }

    override func tearDown() {
        shell?.cleanUp()
        shell = nil
    }

    func testLoadShapesWithSplitAndShowItsConcepts() throws {
        let r = shell.run(["dataset", "load", "shapes", "--kind", "shapes", "--count", "45", "--seed", "2",
                           "--split-test-per-class", "1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let parts = r.json?["datasets"]?.arrayValue ?? []
        XCTAssertEqual(parts.compactMap { $0["count"]?.intValue }, [36, 9])
        XCTAssertEqual(parts.first?["concepts"]?.arrayValue?.count, 44)

        let info = shell.run(["dataset", "info", "shapes-test", "--pretty"])
        XCTAssertEqual(info.status, 0, info.stderr)
        XCTAssertTrue(info.stdout.contains("21 part, 10 colour, 4 texture, 9 object"), info.stdout)
        XCTAssertTrue(info.stdout.contains("from the class hierarchy"), info.stdout)
        XCTAssertTrue(info.stdout.contains("flower"), info.stdout)

        let bare = shell.run(["dataset", "load", "bare", "--kind", "shapes", "--count", "9", "--no-masks"])
        XCTAssertEqual(bare.status, 0, bare.stderr)
        XCTAssertNil(bare.json?["datasets"]?[0]?["concepts"])

        let missing = shell.run(["dataset", "load", "x", "--kind", "shapes"])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("params.count"), missing.stderr)
    }
}
