import Foundation
import RPC
import XCTest

/// A directory inside the root swapped for a link to outside while model/save writes into it
/// (check, then use): the write is pinned to the directory it opened and checked, so nothing is
/// ever written outside the root (before, 29 of 300 saves landed outside). Every save either
/// lands inside or is refused; how many land depends on the machine's speed, so the tests
/// require none to, and check instead that each one that answered wrote inside and that the
/// same request succeeds once the swapping stops.
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
        var saved: [Int] = [], refused = 0
        for i in 0..<200 {
            let id = d.request("model/save", ["name": "m", "spec": .string("out/m\(i).json"), "weights": .string("out/m\(i).safetensors")])
            let reply = d.response(to: id)
            if reply["result"] != nil { saved.append(i) } else { refused += 1 }
        }
        swapper.stop()
        let escaped = try FileManager.default.contentsOfDirectory(atPath: outside.path)
        XCTAssertEqual(escaped, [], "nothing written outside the root (\(saved.count) saved, \(refused) refused)")
        XCTAssertEqual(saved.count + refused, 200)
        // How many saves win the race depends on the machine's speed, so none is required to;
        // every save that answered must have written both files inside the root (in out/, or in
        // out-real/ while the swapper held the real directory aside).
        let inside = Set(try FileManager.default.subpathsOfDirectory(atPath: root.path).map { ($0 as NSString).lastPathComponent })
        for i in saved {
            XCTAssertTrue(inside.contains("m\(i).json") && inside.contains("m\(i).safetensors"), "save \(i) answered but its files are not inside the root")
        }
        // With the swapping stopped the same request goes through: the refusals came from the race.
        let after = d.response(to: d.request("model/save", ["name": "m", "spec": "out/after.json", "weights": "out/after.safetensors"]))
        XCTAssertNotNil(after["result"], "a save with the directory in place: \(after)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("after.safetensors").path))
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
        XCTAssertEqual(written + refused, 200)
        // Inside the root: in out/, or in out-real/ when the daemon made a fresh out/ in the
        // moment between the swapper's two renames.
        let inside = try FileManager.default.subpathsOfDirectory(atPath: root.path).filter { $0.hasSuffix(".png") }
        XCTAssertEqual(inside.count, written, "each attack that answered wrote its strip inside")
        // A refused attack leaves no temporary strip behind (they are removed through the
        // directory they were written in, wherever its path points by then).
        let leftovers = try FileManager.default.subpathsOfDirectory(atPath: root.path).filter { $0.contains(".tmp-") }
        XCTAssertEqual(leftovers, [], "temporaries left by refused attacks")
        // How many attacks win the race depends on the machine's speed; with the swapping stopped
        // the same request writes its strip.
        let after = d.response(to: d.request("attack", ["model": "m", "method": "fgsm", "epsilon": 0.1, "inputs": image, "labels": [3],
                                                        "return": ["png": "out/strips-after"]]))
        XCTAssertNotNil(after["result"], "an attack with the directory in place: \(after)")
        XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent("strips-after").path).isEmpty)
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
