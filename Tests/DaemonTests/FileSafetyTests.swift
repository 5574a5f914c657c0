import Foundation
import RPC
import XCTest

/// Files clients name, through the real binary (issue 14): a gzip bomb stops at
/// --max-file-bytes, FIFOs, devices, directories and symlink loops are refused at once
/// naming the field, a long read answers a cancel, and echoed client text is capped.
final class FileSafetyTests: XCTestCase {
    var root: URL!

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("advlens-files-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: root) }

    /// `bytes` gzip-compressed by the gzip command.
    func gzip(_ bytes: Data) throws -> Data {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["gzip", "-c", "-9"]
        let input = Pipe(), output = Pipe()
        p.standardInput = input
        p.standardOutput = output
        try p.run()
        let writer = Thread { input.fileHandleForWriting.write(bytes); try? input.fileHandleForWriting.close() }
        writer.start()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        return out
    }

    /// A file of `copies` gzip members of `member` (zlib reads them as one stream): a small
    /// file with a huge inflation.
    func writeMembers(_ member: Data, copies: Int, to name: String) throws -> URL {
        let url = root.appendingPathComponent(name)
        FileManager.default.createFile(atPath: url.path, contents: nil)
        let h = try FileHandle(forWritingTo: url)
        var block = Data()
        for _ in 0..<64 { block.append(member) }
        for _ in 0..<(copies / 64) { h.write(block) }
        try h.close()
        return url
    }

    func testGzipBombStopsAtTheLimitAndTheDaemonKeepsServing() throws {
        // 1 GiB of '0' in about a megabyte; the daemon may read 64 MiB.
        let member = try gzip(Data(repeating: UInt8(ascii: "0"), count: 1 << 20))
        let bomb = try writeMembers(member, copies: 1024, to: "bomb.csv.gz")
        XCTAssertLessThan(try FileManager.default.attributesOfItem(atPath: bomb.path)[.size] as! Int, 8 << 20)
        let d = try DaemonProcess(arguments: ["--max-file-bytes", "\(64 << 20)"])
        _ = d.initialize(root: root.path)
        let start = Date()
        let r = d.response(to: d.request("dataset/load", ["name": "b", "kind": "mnist-csv", "path": "bomb.csv.gz"]), timeout: 30)
        XCTAssertEqual(r["error"]?["code"]?.intValue, -32011, "\(r)")
        let message = r["error"]?["message"]?.stringValue ?? ""
        XCTAssertTrue(message.contains("bomb.csv.gz") && message.contains("64 MiB") && message.contains("--max-file-bytes"), message)
        XCTAssertLessThan(Date().timeIntervalSince(start), 10, "refused as soon as inflation passes the limit")
        XCTAssertEqual(d.call("dataset/list")["datasets"]?.arrayValue?.count, 0)
        _ = d.call("model/create", ["name": "m", "architecture": "mnist-small"])
    }

    func testSpecialFilesAreRefusedAtOnceNamingTheField() throws {
        let fifo = root.appendingPathComponent("fifo.csv").path
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        try FileManager.default.createDirectory(at: root.appendingPathComponent("dir.csv"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("loop").path, withDestinationPath: "loop")
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("zero").path, withDestinationPath: "/dev/zero")
        let d = try DaemonProcess()
        _ = d.initialize(root: root.path)
        _ = d.call("model/create", ["name": "m", "architecture": "mnist-small"])
        _ = d.call("model/save", ["name": "m", "spec": "m.json", "weights": "m.safetensors"])

        func refused(_ method: String, _ params: JSONValue, field: String, says: String, code: Int = -32602,
                     file: StaticString = #filePath, line: UInt = #line) {
            let r = d.response(to: d.request(method, params), timeout: 10, file: file, line: line)
            XCTAssertEqual(r["error"]?["code"]?.intValue, code, "\(r)", file: file, line: line)
            let message = r["error"]?["message"]?.stringValue ?? ""
            XCTAssertTrue(message.contains(field) && message.contains(says), message, file: file, line: line)
        }
        for kind in ["mnist-csv"] {
            refused("dataset/load", ["name": "x", "kind": .string(kind), "path": "fifo.csv"], field: "params.path", says: "a FIFO (named pipe), not a regular file")
            refused("dataset/load", ["name": "x", "kind": .string(kind), "path": "dir.csv"], field: "params.path", says: "a directory, not a regular file")
            refused("dataset/load", ["name": "x", "kind": .string(kind), "path": "loop"], field: "params.path", says: "a symbolic link loop")
        }
        refused("dataset/load", ["name": "x", "kind": "npy", "images": "fifo.csv"], field: "params.images", says: "a FIFO")
        refused("dataset/load", ["name": "x", "kind": "mnist-idx", "images": "m.safetensors", "labels": "fifo.csv"], field: "params.labels", says: "a FIFO")
        refused("model/load", ["name": "x", "spec": "m.json", "weights": "fifo.csv"], field: "params.weights", says: "a FIFO")
        refused("model/load", ["name": "x", "spec": "fifo.csv", "weights": "m.safetensors"], field: "params.spec", says: "a FIFO")
        refused("model/load", ["name": "x", "spec": "dir.csv", "weights": "m.safetensors"], field: "params.spec", says: "a directory")
        refused("model/load", ["name": "x", "spec": "m.json", "weights": "loop"], field: "params.weights", says: "a symbolic link loop")
        refused("model/save", ["name": "m", "spec": "dir.csv", "weights": "w.safetensors"], field: "params.spec", says: "a directory")
        refused("predict", ["model": "m", "inputs": ["path": "fifo.csv"]], field: "inputs.path", says: "a FIFO")
        // A link to a device outside the root is outside the root.
        refused("dataset/load", ["name": "x", "kind": "mnist-csv", "path": "zero"], field: "params.path", says: "outside the workspace root", code: -32013)
        XCTAssertEqual(d.call("model/list")["models"]?.arrayValue?.count, 1, "still serving")

        // A device inside the root (here the root is /).
        let e = try DaemonProcess()
        _ = e.initialize(root: "/")
        _ = e.call("model/create", ["name": "m", "architecture": "mnist-small"])
        let r = e.response(to: e.request("dataset/load", ["name": "z", "kind": "mnist-csv", "path": "/dev/zero"]), timeout: 10)
        XCTAssertEqual(r["error"]?["code"]?.intValue, -32602, "\(r)")
        XCTAssertTrue(r["error"]?["message"]?.stringValue?.contains("params.path: \"/dev/zero\" is a character device, not a regular file") == true, "\(r)")
        let w = e.response(to: e.request("model/load", ["name": "z", "spec": .string(root.appendingPathComponent("m.json").path), "weights": "/dev/zero"]), timeout: 10)
        XCTAssertEqual(w["error"]?["code"]?.intValue, -32602, "\(w)")
        XCTAssertTrue(w["error"]?["message"]?.stringValue?.contains("params.weights") == true, "\(w)")
    }

    func testCancelDuringALongReadAnswers() throws {
        // 2,048,000 valid rows (about 3 GB of CSV) in a few megabytes of gzip.
        let row = String(repeating: "0,", count: 784) + "1\n"
        let member = try gzip(Data(String(repeating: row, count: 1000).utf8))
        _ = try writeMembers(member, copies: 2048, to: "long.csv.gz")
        let d = try DaemonProcess()
        _ = d.initialize(root: root.path)
        let id = d.request("dataset/load", ["name": "long", "kind": "mnist-csv", "path": "long.csv.gz"])
        usleep(500_000)
        let start = Date()
        d.notify("$/cancelRequest", ["id": id])
        let r = d.response(to: id, timeout: 60)
        XCTAssertEqual(r["error"]?["code"]?.intValue, -32800, "\(r)")
        XCTAssertLessThan(Date().timeIntervalSince(start), 3, "the read stops between chunks")
        XCTAssertEqual(d.call("dataset/list")["datasets"]?.arrayValue?.count, 0)
    }

    func testEchoedClientTextIsCapped() throws {
        let d = try DaemonProcess()
        _ = d.initialize(root: root.path)
        let long = String(repeating: "n", count: 1 << 20)
        for (method, params) in [("model/info", ["name": .string(long)] as JSONValue),
                                 ("model/create", ["name": .string(long + "/"), "architecture": "mnist-small"]),
                                 ("dataset/info", ["name": .string(long)]),
                                 ("model/load", ["name": "x", "spec": .string("../" + long), "weights": "w"])] {
            let e = d.failure(method, params)
            XCTAssertLessThan(e.message.utf8.count, 1000, "\(method): \(e.message.prefix(300))")
            if e.message.contains("nnnn") { XCTAssertTrue(e.message.contains("…"), e.message) }
        }
    }

    func testNULInCachePathIsRefused() throws {
        let d = try DaemonProcess()
        let e = d.failure("initialize", ["cachePath": "a\u{0}b.sqlite", "rootPath": .string(root.path)])
        XCTAssertEqual(e.code, -32602)
        XCTAssertTrue(e.message.contains("params.cachePath") && e.message.contains("NUL"), e.message)
        XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: root.path).contains { $0.hasPrefix("a") }, "no file created")
    }
}
