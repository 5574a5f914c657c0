import Data
import Files
import Foundation
import XCTest

/// Reading within limits: regular files only, the size and the inflated size bounded while
/// reading, cancellation between chunks.
final class FileLimitTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("advlens-limits-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func testInflationStopsAtTheLimit() throws {
        let path = dir.appendingPathComponent("z.gz").path
        try Gzip.writeFile([UInt8](repeating: 0x30, count: 8 << 20), to: path, compressed: true)
        XCTAssertLessThan(try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int, 1 << 20)
        XCTAssertThrowsError(try Gzip.readFile(path, limits: ReadLimits(maxBytes: 4 << 20))) { e in
            XCTAssertEqual(e as? FileReadError, .tooLarge(path: path, limit: 4 << 20))
            XCTAssertTrue("\(e)".contains("4 MiB"), "\(e)")
        }
        XCTAssertEqual(try Gzip.readFile(path, limits: ReadLimits(maxBytes: 8 << 20)).count, 8 << 20)
        // A plain file over the limit is refused before reading.
        let plain = dir.appendingPathComponent("p").path
        try Gzip.writeFile([UInt8](repeating: 1, count: 1000), to: plain, compressed: false)
        XCTAssertThrowsError(try ClientFile.read(plain, limits: ReadLimits(maxBytes: 999))) { e in
            XCTAssertEqual(e as? FileReadError, .tooLarge(path: plain, limit: 999))
        }
    }

    func testSpecialFilesAreRefusedWithoutBlocking() throws {
        let fifo = dir.appendingPathComponent("f").path
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        XCTAssertThrowsError(try Gzip.readFile(fifo)) { e in
            XCTAssertEqual(e as? FileReadError, .notRegularFile(path: fifo, kind: "a FIFO (named pipe)"))
        }
        XCTAssertThrowsError(try ClientFile.read("/dev/zero")) { e in
            XCTAssertEqual(e as? FileReadError, .notRegularFile(path: "/dev/zero", kind: "a character device"))
        }
        XCTAssertThrowsError(try NPY.load(path: dir.path)) { e in
            XCTAssertEqual(e as? FileReadError, .notRegularFile(path: dir.path, kind: "a directory"))
        }
        let loop = dir.appendingPathComponent("loop").path
        try FileManager.default.createSymbolicLink(atPath: loop, withDestinationPath: "loop")
        XCTAssertEqual(ClientFile.problem(at: loop), "a symbolic link loop (too many levels of symbolic links)")
        XCTAssertNil(ClientFile.problem(at: dir.appendingPathComponent("missing").path))
    }

    func testCancellationStopsTheRead() throws {
        let path = dir.appendingPathComponent("c.gz").path
        try Gzip.writeFile([UInt8](repeating: 0x30, count: 4 << 20), to: path, compressed: true)
        XCTAssertThrowsError(try Gzip.readFile(path, limits: ReadLimits(shouldStop: { true }))) { e in
            XCTAssertEqual(e as? FileReadError, .cancelled(path: path))
        }
        // The task-local limits reach loaders that are not given any.
        XCTAssertThrowsError(try ReadLimits.$current.withValue(ReadLimits(maxBytes: 1 << 20)) { try MNISTCSV.load(path: path) }) { e in
            XCTAssertEqual(e as? FileReadError, .tooLarge(path: path, limit: 1 << 20))
        }
    }
}
