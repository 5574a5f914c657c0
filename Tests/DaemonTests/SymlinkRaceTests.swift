import Foundation
import RPC
import XCTest

/// A directory inside the root swapped for a link to outside while model/save writes into it
/// (check, then use): the write is pinned to the directory it opened and checked, so nothing is
/// ever written outside the root (before, 29 of 300 saves landed outside). Every save either
/// lands inside or is refused.
final class SymlinkRaceTests: XCTestCase {
    /// A daemon confined to base/root with a model "m"; root/out is the directory to swap for a
    /// link to base/outside (root/out-real holds it meanwhile).
    func raceSetUp() throws -> (DaemonProcess, root: URL, out: URL, real: URL, outside: URL) {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("advlens-race-\(UUID().uuidString)")
        let root = base.appendingPathComponent("root"), outside = base.appendingPathComponent("outside")
        let out = root.appendingPathComponent("out"), real = root.appendingPathComponent("out-real")
        for dir in [root, outside, out] { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) }
        let d = try DaemonProcess()
        _ = d.initialize(root: root.path)
        _ = d.call("model/create", ["name": "m", "architecture": "mnist-small"])
        return (d, root, out, real, outside)
    }

    func testSavesNeverLandOutsideTheRootWhileADirectoryIsSwappedForALink() throws {
        let (d, root, out, real, outside) = try raceSetUp()
        defer { try? FileManager.default.removeItem(at: root.deletingLastPathComponent()) }

        let swapper = LinkSwapper(directory: out, aside: real, link: outside)
        var saved = 0, refused = 0
        var reasons: [String: Int] = [:]
        for i in 0..<200 {
            let id = d.request("model/save", ["name": "m", "spec": .string("out/m\(i).json"), "weights": .string("out/m\(i).safetensors")])
            let reply = d.response(to: id)
            if reply["result"] != nil { saved += 1 } else {
                refused += 1
                reasons[String((reply["error"]?["message"]?.stringValue ?? "?").prefix(80)), default: 0] += 1
            }
        }
        swapper.stop()
        let escaped = try FileManager.default.contentsOfDirectory(atPath: outside.path)
        XCTAssertEqual(escaped, [], "nothing written outside the root (\(saved) saved, \(refused) refused)")
        XCTAssertEqual(saved + refused, 200)
        XCTAssertGreaterThan(saved, 0, "saves went through between swaps; refusals: \(reasons)")
    }

    /// The same race against attack's PNG strips: each attack writes into a new folder under
    /// out/, so both the folder's creation and the file's are raced (before, the folder was made
    /// by name, following the link, and stb wrote the file by path).
    func testAttackPNGsNeverLandOutsideTheRootWhileADirectoryIsSwappedForALink() throws {
        let (d, root, out, real, outside) = try raceSetUp()
        defer { try? FileManager.default.removeItem(at: root.deletingLastPathComponent()) }
        let image = JSONValue.tensor(shape: [1, 1, 28, 28], values: (0..<784).map { Float($0 % 29) / 28 })
        let swapper = LinkSwapper(directory: out, aside: real, link: outside)
        var written = 0, refused = 0
        for i in 0..<200 {
            let id = d.request("attack", ["model": "m", "method": "fgsm", "epsilon": 0.1, "inputs": image, "labels": [3],
                                          "return": ["png": .string("out/strips-\(i)")]])
            let reply = d.response(to: id)
            if reply["result"] != nil { written += 1 } else { refused += 1 }
        }
        swapper.stop()
        let escaped = try FileManager.default.contentsOfDirectory(atPath: outside.path)
        XCTAssertEqual(escaped, [], "nothing written outside the root (\(written) written, \(refused) refused)")
        XCTAssertGreaterThan(written, 0)
        // Inside the root: in out/, or in out-real/ when the daemon made a fresh out/ in the
        // moment between the swapper's two renames.
        let inside = try FileManager.default.subpathsOfDirectory(atPath: root.path).filter { $0.hasSuffix(".png") }
        XCTAssertEqual(inside.count, written, "each attack that answered wrote its strip inside")
    }
}

/// Swaps `directory` for a symbolic link to `link` and back, on a thread of its own, until
/// stopped: mostly the real directory, briefly the link.
final class LinkSwapper: @unchecked Sendable {
    private let lock = NSLock()
    private var stopped = false
    private var thread: Thread!

    init(directory: URL, aside: URL, link: URL) {
        thread = Thread { [self] in
            while !lock.withLock({ stopped }) {
                usleep(300)
                rename(directory.path, aside.path)
                symlink(link.path, directory.path)
                usleep(100)
                unlink(directory.path)
                rename(aside.path, directory.path)
            }
        }
        thread.start()
    }

    func stop() {
        lock.withLock { stopped = true }
        while thread.isExecuting { Thread.sleep(forTimeInterval: 0.01) }
    }
}
