import Foundation
import RPC
import XCTest

/// A directory inside the root swapped for a link to outside while model/save writes into it
/// (check, then use): the write is pinned to the directory it opened and checked, so nothing is
/// ever written outside the root (before, 29 of 300 saves landed outside). Every save either
/// lands inside or is refused.
final class SymlinkRaceTests: XCTestCase {
    func testSavesNeverLandOutsideTheRootWhileADirectoryIsSwappedForALink() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("advlens-race-\(UUID().uuidString)")
        let root = base.appendingPathComponent("root"), outside = base.appendingPathComponent("outside")
        let out = root.appendingPathComponent("out"), real = root.appendingPathComponent("out-real")
        for dir in [root, outside, out] { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) }
        defer { try? FileManager.default.removeItem(at: base) }

        let d = try DaemonProcess()
        _ = d.initialize(root: root.path)
        _ = d.call("model/create", ["name": "m", "architecture": "mnist-small"])

        // Swap out/ for a link to outside/ and back: mostly the real directory, briefly the link.
        let stop = NSLock(), stopped = UnsafeMutablePointer<Bool>.allocate(capacity: 1)
        stopped.pointee = false
        defer { stopped.deallocate() }
        let swapper = Thread {
            while !stop.withLock({ stopped.pointee }) {
                usleep(300)
                rename(out.path, real.path)
                symlink(outside.path, out.path)
                usleep(100)
                unlink(out.path)
                rename(real.path, out.path)
            }
        }
        swapper.start()
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
        stop.withLock { stopped.pointee = true }
        while swapper.isExecuting { Thread.sleep(forTimeInterval: 0.01) }
        let escaped = try FileManager.default.contentsOfDirectory(atPath: outside.path)
        XCTAssertEqual(escaped, [], "nothing written outside the root (\(saved) saved, \(refused) refused)")
        XCTAssertEqual(saved + refused, 200)
        XCTAssertGreaterThan(saved, 0, "saves went through between swaps; refusals: \(reasons)")
    }
}
