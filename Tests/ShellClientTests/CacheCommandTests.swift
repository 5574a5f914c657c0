import Foundation
import RPC
import XCTest

/// `advlens cache stats | clear` against the real daemon, which keeps its cache database in the
/// runner's private XDG_CACHE_HOME; and a kept result that outlives `daemon stop`.
final class CacheCommandTests: XCTestCase {
    var shell: ShellRunner!

    override func setUpWithError() throws { shell = try ShellRunner() }

    override func tearDown() {
        shell?.cleanUp()
        shell = nil
    }

    private func rows(_ stats: JSONValue?) -> [String: Int] {
        Dictionary(uniqueKeysWithValues: (stats?["tables"]?.arrayValue ?? []).map { ($0["name"]!.stringValue!, $0["rows"]!.intValue!) })
    }

    func testStatsAndClearAndAHandleThatOutlivesTheDaemon() throws {
        let expectedPath = URL(fileURLWithPath: shell.environment["XDG_CACHE_HOME"]!).resolvingSymlinksInPath()
            .appendingPathComponent("advlens/cache.sqlite").path
        let empty = shell.ok(["cache", "stats"]).json
        XCTAssertEqual(empty?["path"]?.stringValue, expectedPath, "the daemon's cache is in the runner's XDG_CACHE_HOME")
        XCTAssertEqual(rows(empty), ["activations": 0, "statistics": 0, "handles": 0, "runLogs": 0])

        _ = shell.ok(["model", "create", "m", "--arch", "mnist-small", "--seed", "1"])
        _ = shell.ok(["dataset", "load", "mnist", "--kind", "mnist-csv", "--path", "data/mnist_5k.csv.gz", "--split-test-per-class", "10"])
        let handle = try XCTUnwrap(shell.ok(["attack", "--model", "m", "--method", "fgsm", "--dataset", "mnist-test", "--indices", "0-3"])
            .json?["handle"]?.stringValue)

        let pretty = shell.ok(["cache", "stats", "--pretty"]).stdout
        XCTAssertTrue(pretty.contains("handles") && pretty.contains(expectedPath), pretty)
        XCTAssertNotNil(pretty.range(of: #"runLogs\s+1\s"#, options: .regularExpression), pretty)

        // A restarted daemon still has the result (the model it needs is made again: same seed).
        _ = shell.ok(["daemon", "stop"])
        XCTAssertEqual(shell.ok(["handle", "list"]).json?["handles"]?[0]?["handle"]?.stringValue, handle)
        _ = shell.ok(["model", "create", "m", "--arch", "mnist-small", "--seed", "1"])
        XCTAssertEqual(shell.ok(["predict", "--model", "m", "--handle", handle]).json?["count"], 4)

        let cleared = shell.ok(["cache", "clear", "handles", "runLogs"]).json
        XCTAssertEqual(cleared?["cleared"]?.arrayValue?.compactMap { $0["rows"]?.intValue }, [1, 1])
        XCTAssertEqual(rows(cleared?["stats"])["handles"], 0)
        let bad = shell.run(["cache", "clear", "bogus"])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stderr.contains("params.what") && bad.stderr.contains("-32602"), bad.stderr)
    }
}
