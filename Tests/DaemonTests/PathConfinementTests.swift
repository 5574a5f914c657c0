import Foundation
import JSON
import XCTest

/// How a daemon resolves client paths (issue 18, item 6): a user's own daemon reads and writes
/// where the user points, relative paths against the client's working directory; confinement
/// to a workspace root is opt-in (`initialize.rootPath`, or the daemon's `--root`).
final class PathConfinementTests: XCTestCase {
    var base: URL!

    override func setUpWithError() throws {
        base = FileManager.default.temporaryDirectory.appendingPathComponent("advlens-paths-\(UUID().uuidString)")
        for dir in ["here", "elsewhere", "root"] {
            try FileManager.default.createDirectory(at: base.appendingPathComponent(dir), withIntermediateDirectories: true)
        }
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: base) }

    func exists(_ relative: String) -> Bool { FileManager.default.fileExists(atPath: base.appendingPathComponent(relative).path) }

    func testWithoutARootPathsGoWhereTheUserPoints() throws {
        let d = try DaemonProcess()
        _ = d.call("initialize", ["clientInfo": ["name": "PathConfinementTests"], "workingDirectory": .string(base.appendingPathComponent("here").path)])
        d.notify("initialized")
        _ = d.call("model/create", ["name": "a", "architecture": "mnist-small"])
        // Relative to the client's working directory, "..", and absolute paths anywhere.
        let saved = d.call("model/save", ["name": "a", "spec": "m.json", "weights": "../elsewhere/m.safetensors"])
        XCTAssertEqual(saved["spec"]?.stringValue, base.appendingPathComponent("here/m.json").resolvingSymlinksInPath().path)
        XCTAssertTrue(exists("here/m.json") && exists("elsewhere/m.safetensors"))
        let absolute = base.appendingPathComponent("elsewhere/m.json").path
        _ = d.call("model/save", ["name": "a", "spec": .string(absolute), "weights": "w.safetensors"])
        XCTAssertTrue(exists("elsewhere/m.json") && exists("here/w.safetensors"))
        let loaded = d.call("model/load", ["name": "b", "spec": "../elsewhere/m.json", "weights": "w.safetensors"])
        XCTAssertEqual(loaded["fingerprint"], d.call("model/info", ["name": "a"])["summary"]?["fingerprint"])
        // A working directory that is no directory names the field.
        let e = try DaemonProcess()
        let bad = e.failure("initialize", ["workingDirectory": .string(base.appendingPathComponent("nope").path)])
        XCTAssertEqual(bad.code, -32602)
        XCTAssertTrue(bad.message.contains("params.workingDirectory"), bad.message)
    }

    func testRootPathConfines() throws {
        let d = try DaemonProcess()
        _ = d.initialize(root: base.appendingPathComponent("root").path)
        _ = d.call("model/create", ["name": "a", "architecture": "mnist-small"])
        for path in ["../elsewhere/m.json", base.appendingPathComponent("elsewhere/m.json").path] {
            let refused = d.failure("model/save", ["name": "a", "spec": .string(path), "weights": "w.safetensors"])
            XCTAssertEqual(refused.code, -32013, path)
        }
        _ = d.call("model/save", ["name": "a", "spec": "m.json", "weights": "w.safetensors"])
        XCTAssertTrue(exists("root/m.json") && !exists("elsewhere/m.json"))
    }

    func testDaemonRootConfinesClientsThatNameNone() throws {
        let d = try DaemonProcess(arguments: ["--root", base.appendingPathComponent("root").path])
        // A working directory does not lift the daemon's confinement.
        _ = d.call("initialize", ["workingDirectory": .string(base.appendingPathComponent("here").path)])
        _ = d.call("model/create", ["name": "a", "architecture": "mnist-small"])
        let refused = d.failure("model/save", ["name": "a", "spec": .string(base.appendingPathComponent("here/m.json").path), "weights": "w.safetensors"])
        XCTAssertEqual(refused.code, -32013)
        XCTAssertTrue(refused.message.contains("outside the workspace root"), refused.message)
        _ = d.call("model/save", ["name": "a", "spec": "m.json", "weights": "w.safetensors"])
        XCTAssertTrue(exists("root/m.json") && !exists("here/m.json"))
    }
}
