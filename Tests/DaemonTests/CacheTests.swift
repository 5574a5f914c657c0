import Foundation
import RPC
import Store
import XCTest

/// The cache database through the real daemon: kept results survive a restart and a SIGKILL,
/// two daemons share one file, cache/stats and cache/clear, run logs.
final class CacheTests: XCTestCase {
    var directory: URL!
    var cacheFile: URL { directory.appendingPathComponent("cache.sqlite") }

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("advlens-cache-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    /// A daemon on `cacheFile` with model "m" (mnist-small, seed 1: the same weights every time).
    func daemon(arguments: [String] = []) throws -> DaemonProcess {
        let d = try DaemonProcess(arguments: arguments, cache: cacheFile)
        XCTAssertEqual(d.initialize()["cachePath"]?.stringValue, cacheFile.resolvingSymlinksInPath().path)
        _ = d.call("model/create", ["name": "m", "architecture": "mnist-small", "seed": 1])
        return d
    }

    /// `count` images in [0, 1], different for each `seed`.
    func images(_ count: Int, seed: Int) -> JSONValue {
        .tensor(shape: [count, 1, 28, 28], values: (0..<(count * 784)).map { Float(($0 * 31 + seed * 17) % 101) / 100 })
    }

    func attackParams(_ count: Int, seed: Int) -> JSONValue {
        ["model": "m", "method": "fgsm", "epsilon": 0.1, "inputs": images(count, seed: seed),
         "labels": .array((0..<count).map { .number(Double(($0 + seed) % 10)) }), "return": ["images": true]]
    }

    func tableRows(_ stats: JSONValue) -> [String: Int] {
        Dictionary(uniqueKeysWithValues: (stats["tables"]?.arrayValue ?? []).map { ($0["name"]!.stringValue!, $0["rows"]!.intValue!) })
    }

    func testKeptResultSurvivesARestart() throws {
        var first: DaemonProcess? = try daemon()
        let attack = first!.call("attack", attackParams(3, seed: 1))
        let handle = try XCTUnwrap(attack["handle"]?.stringValue)
        let before = first!.call("predict", ["model": "m", "inputs": ["handle": .string(handle)], "returnLogits": true])
        _ = first!.call("shutdown")
        first!.notify("exit")
        XCTAssertEqual(first!.waitForExit(), 0)
        first = nil

        let second = try daemon()
        let list = second.call("handle/list")
        XCTAssertEqual(list["handles"]?.arrayValue?.map { $0["handle"] }, [.string(handle)])
        XCTAssertEqual(list["handles"]?[0]?["count"], 3)
        XCTAssertEqual(list["handles"]?[0]?["kind"], "attack fgsm")
        // The same images and labels come back: the same logits and accuracy as before the restart.
        let after = second.call("predict", ["model": "m", "inputs": ["handle": .string(handle)], "returnLogits": true])
        XCTAssertEqual(after["predictions"], before["predictions"])
        XCTAssertEqual(after["accuracy"], before["accuracy"])
        // A new result gets a new id; dropping works on the restored one.
        let next = second.call("attack", attackParams(2, seed: 2))["handle"]
        XCTAssertNotEqual(next, .string(handle))
        _ = second.call("handle/drop", ["handle": .string(handle)])
        XCTAssertEqual(second.failure("predict", ["model": "m", "inputs": ["handle": .string(handle)]]).code, -32001)
        // Both attacks were logged, in the file that outlived the first daemon.
        XCTAssertEqual(tableRows(second.call("cache/stats"))["runLogs"], 2)
    }

    /// A clean exit checkpoints the write-ahead log into the database file: the file copied
    /// alone (without its -wal) still holds every kept result.
    func testACleanExitLeavesTheDatabaseWholeInItsFile() throws {
        let d = try daemon()
        let handle = try XCTUnwrap(d.call("attack", attackParams(2, seed: 3))["handle"]?.stringValue)
        _ = d.call("shutdown")
        d.notify("exit")
        XCTAssertEqual(d.waitForExit(), 0)
        let wal = (try? FileManager.default.attributesOfItem(atPath: cacheFile.path + "-wal")[.size] as? Int) ?? 0
        XCTAssertEqual(wal, 0, "the log was moved into the file")
        let copyDirectory = directory.appendingPathComponent("copy")
        try FileManager.default.createDirectory(at: copyDirectory, withIntermediateDirectories: true)
        let copy = copyDirectory.appendingPathComponent("cache.sqlite")
        try FileManager.default.copyItem(at: cacheFile, to: copy)
        let reopened = try DaemonProcess(cache: copy)
        _ = reopened.initialize()
        XCTAssertEqual(reopened.call("handle/list")["handles"]?.arrayValue?.map { $0["handle"] }, [.string(handle)])
    }

    /// SIGKILL while attacks are being kept: the file is sound and every result whose response
    /// had arrived is there with the very bytes the response carried.
    func testSIGKILLDuringWritesLosesNoAnsweredResult() throws {
        let d = try daemon(arguments: ["--workers", "2"])
        let total = 40
        // Requests go from another thread while this one reads: 40 requests of 100 kB each
        // would otherwise fill the pipes both ways.
        let ids: [JSONValue] = (0..<total).map { .string("kill-\($0)") }
        let requests = (0..<total).map { attackParams(32, seed: $0) }
        let sent = DispatchSemaphore(value: 0)
        let sender = Thread {
            for i in 0..<total { d.request("attack", requests[i], id: ids[i]) }
            sent.signal()
        }
        sender.start()
        var answered: [(handle: String, images: Data)] = []
        while answered.count < 12, let m = d.readMessage(timeout: 60) {
            guard ids.contains(m["id"] ?? .null), let r = m["result"] else { continue }
            answered.append((r["handle"]!.stringValue!, Data(base64Encoded: r["images"]!["data"]!.stringValue!)!))
        }
        XCTAssertEqual(answered.count, 12)
        // The daemon reads requests ahead of the work: every one is in before the kill (so the
        // sender never writes into a dead pipe), most are still to be computed and kept.
        XCTAssertEqual(sent.wait(timeout: .now() + 60), .success)
        kill(d.process.processIdentifier, SIGKILL)
        d.process.waitUntilExit()
        XCTAssertEqual(d.process.terminationReason, .uncaughtSignal)

        let store = try Store(path: cacheFile.path)
        XCTAssertEqual(try store.integrityCheck(), "ok")
        let kept = try store.handles()
        XCTAssertLessThan(kept.count, total, "the kill came before every attack had finished")
        for (handle, bytes) in answered {
            let row = try XCTUnwrap(try store.handle(handle), "\(handle) answered but not kept")
            XCTAssertEqual(row.images.values.withUnsafeBytes { Data($0) }, bytes, handle)
            XCTAssertEqual(row.images.shape, [32, 1, 28, 28])
        }
        // A daemon reopens the file and carries on.
        let again = try daemon()
        XCTAssertEqual(again.call("handle/list")["handles"]?.arrayValue?.count, kept.count)
        XCTAssertNotNil(again.call("attack", attackParams(1, seed: 99))["handle"]?.stringValue)
    }

    func testTwoDaemonsOnOneCacheFile() throws {
        let a = try daemon(), b = try daemon()
        // Attacks from both at once: every id is unique and both see all of them.
        var requests: [(DaemonProcess, JSONValue)] = []
        for i in 0..<6 {
            let d = i % 2 == 0 ? a : b
            requests.append((d, d.request("attack", attackParams(4, seed: i))))
        }
        let handles = requests.map { d, id in d.response(to: id)["result"]?["handle"]?.stringValue ?? "missing" }
        XCTAssertEqual(Set(handles).count, 6, "\(handles)")
        XCTAssertFalse(handles.contains("missing"))
        for d in [a, b] {
            XCTAssertEqual(Set((d.call("handle/list")["handles"]?.arrayValue ?? []).compactMap { $0["handle"]?.stringValue }), Set(handles))
        }
        // A result one daemon made feeds the other.
        let fromB = handles[1]
        XCTAssertEqual(a.call("predict", ["model": "m", "inputs": ["handle": .string(fromB)]])["count"], 4)
        _ = a.call("handle/drop", ["handle": .string(fromB)])
        XCTAssertEqual(b.failure("predict", ["model": "m", "inputs": ["handle": .string(fromB)]]).code, -32001)
        XCTAssertEqual(tableRows(a.call("cache/stats")), tableRows(b.call("cache/stats")))
        XCTAssertEqual(tableRows(b.call("cache/stats"))["runLogs"], 6)
    }

    func testCacheStatsAndClear() throws {
        let d = try daemon()
        _ = d.call("attack", attackParams(2, seed: 3))
        let stats = d.call("cache/stats")
        XCTAssertEqual(stats["path"]?.stringValue, cacheFile.resolvingSymlinksInPath().path)
        XCTAssertEqual(stats["capBytes"]?.intValue, 4 << 30)
        XCTAssertEqual(tableRows(stats), ["activations": 0, "statistics": 0, "handles": 1, "runLogs": 1])
        XCTAssertGreaterThan(stats["fileBytes"]?.intValue ?? 0, 2 * 784 * 4)
        XCTAssertGreaterThanOrEqual(stats["totalBytes"]?.intValue ?? 0, 2 * 784 * 4)
        // The default clears only the cache tables; kept results go only when named.
        let cleared = d.call("cache/clear")
        XCTAssertEqual(cleared["cleared"]?.arrayValue?.compactMap { $0["name"]?.stringValue }, ["activations", "statistics"])
        XCTAssertEqual(tableRows(cleared["stats"]!)["handles"], 1)
        let all = d.call("cache/clear", ["what": ["handles", "runLogs"]])
        XCTAssertEqual(all["cleared"]?.arrayValue?.compactMap { $0["rows"]?.intValue }, [1, 1])
        XCTAssertEqual(all["stats"]?["totalBytes"], 0)
        XCTAssertEqual(d.call("handle/list")["handles"]?.arrayValue?.count, 0)
        let bad = d.failure("cache/clear", ["what": ["handles", "bogus"]])
        XCTAssertEqual(bad.code, -32602)
        XCTAssertTrue(bad.message.hasPrefix("params.what:") && bad.message.contains("bogus"), bad.message)
        XCTAssertEqual(d.failure("cache/clear", ["what": []]).code, -32602)
    }

    /// A default cache that cannot be opened costs only the cache: initialize succeeds without
    /// a cachePath, predict works, methods that need the cache fail with -32012 naming the file.
    func testUnusableDefaultCacheOnlyDisablesTheCache() throws {
        let d = try DaemonProcess(cache: URL(fileURLWithPath: "/proc/advlens-test/cache.sqlite"))
        let result = d.call("initialize", ["clientInfo": ["name": "CacheTests"]])
        XCTAssertNotNil(result["capabilities"])
        XCTAssertNil(result["cachePath"])
        _ = d.call("model/create", ["name": "m", "architecture": "mnist-small", "seed": 1])
        XCTAssertEqual(d.call("predict", ["model": "m", "inputs": images(2, seed: 0)])["count"], 2)
        for (method, params) in [("handle/list", JSONValue.null), ("cache/stats", .null), ("attack", attackParams(1, seed: 0))] {
            let e = d.failure(method, params == .null ? nil : params)
            XCTAssertEqual(e.code, -32012, method)
            XCTAssertTrue(e.message.contains("/proc/advlens-test/cache.sqlite"), e.message)
        }
    }

    /// initialize.cachePath wins over --cache; a relative one resolves inside rootPath; one
    /// that cannot be opened fails initialize naming the field.
    func testInitializeCachePath() throws {
        let d = try DaemonProcess(cache: cacheFile)
        let result = d.call("initialize", ["rootPath": .string(directory.path), "cachePath": "sub/mine.sqlite"])
        let expected = directory.resolvingSymlinksInPath().appendingPathComponent("sub/mine.sqlite").path
        XCTAssertEqual(result["cachePath"]?.stringValue, expected)
        XCTAssertEqual(d.call("cache/stats")["path"]?.stringValue, expected)
        XCTAssertTrue(FileManager.default.fileExists(atPath: expected))

        let blocker = directory.appendingPathComponent("plain-file")
        try Data("x".utf8).write(to: blocker)
        let e = try DaemonProcess(cache: cacheFile)
        let failure = e.failure("initialize", ["cachePath": .string(blocker.appendingPathComponent("c.sqlite").path)])
        XCTAssertEqual(failure.code, -32602)
        XCTAssertTrue(failure.message.hasPrefix("params.cachePath:"), failure.message)
    }
}
