import Files
import Foundation
import SafeTensors
import XCTest

/// Atomic writes clear the temporaries that killed writers left in the target directory.
final class AtomicWriteTests: XCTestCase {
    func testStaleTemporariesOfDeadProcessesAreRemoved() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("advlens-atomic-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let gone = Process()
        gone.executableURL = URL(fileURLWithPath: "/bin/true")
        try gone.run()
        gone.waitUntilExit()
        let dead = gone.processIdentifier
        let stale = [".w.safetensors.tmp-\(dead)-1", "w.png.tmp-\(dead)"]
        let kept = [".w.safetensors.tmp-\(getpid())-2", ".w.safetensors.tmp-x-3", "w.tmp-\(dead)-notes", ".tmp-\(dead)-1"]
        for n in stale + kept { try Data([1, 2, 3]).write(to: dir.appendingPathComponent(n)) }
        let url = dir.appendingPathComponent("w.safetensors")
        try SafeTensorsFile.write(tensors: [(name: "a", shape: [2], floats: [1, 2])], to: url)
        let left = Set(try FileManager.default.contentsOfDirectory(atPath: dir.path))
        XCTAssertEqual(left, Set(kept + ["w.safetensors"]))
        XCTAssertEqual(try SafeTensorsFile.read(contentsOf: url)["a"]?.floats, [1, 2])
        XCTAssertEqual(AtomicFile.removeStaleTemporaries(in: dir.path), 0)
    }
}
