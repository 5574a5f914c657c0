import CStb
import Foundation
import RPC
import XCTest

/// dataset/load of image folders through the real binary, with PNG, JPEG and BMP files written
/// by stb_image_write here: each image loads as the same file sent as a `path` input decodes
/// (so the same logits), and the dataset works with predict, attack, probe and trainStep.
final class ImageDatasetTests: XCTestCase {
    var root: URL!

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("advlens-images-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: root) }

    /// Writes a `side`×`side` RGB image of a seeded pattern as PNG, JPEG or BMP (by extension).
    func writeImage(_ relative: String, side: Int, seed: Int) throws {
        let url = root.appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        var pixels = [UInt8](repeating: 0, count: side * side * 3)
        for y in 0..<side {
            for x in 0..<side {
                for c in 0..<3 { pixels[(y * side + x) * 3 + c] = UInt8(truncatingIfNeeded: (x * (seed + 3) + y * 7 + c * 50 + seed * 31) % 256) }
            }
        }
        let w = Int32(side)
        let ok: Int32
        switch url.pathExtension.lowercased() {
        case "png": ok = stbi_write_png(url.path, w, w, 3, pixels, w * 3)
        case "jpg", "jpeg": ok = stbi_write_jpg(url.path, w, w, 3, pixels, 90)
        default: ok = stbi_write_bmp(url.path, w, w, 3, pixels)
        }
        XCTAssertNotEqual(ok, 0, "stb could not write \(relative)")
    }

    func testFolderOfPNGJPEGAndBMPLoadsAsPathInputsDecodeAndFeedsEveryMethod() throws {
        let files = ["boat/a.jpg", "boat/b.BMP", "car/c.png", "car/d.jpeg", "tree/e.bmp", "tree/f.png"]
        for (i, f) in files.enumerated() { try writeImage("folder/" + f, side: 64, seed: i) }
        let d = try DaemonProcess()
        _ = d.initialize(root: root.path)
        _ = d.call("model/create", ["name": "net", "architecture": "shapes-cnn", "seed": 1])
        let loaded = d.call("dataset/load", ["name": "pics", "kind": "imagefolder", "path": "folder", "model": "net"])
        XCTAssertEqual(loaded["datasets"]?[0]?["classes"], ["boat", "car", "tree"])
        XCTAssertEqual(loaded["datasets"]?[0]?["imageShape"], [3, 64, 64])
        XCTAssertEqual(loaded["datasets"]?[0]?["source"]?.stringValue, root.appendingPathComponent("folder").resolvingSymlinksInPath().path)

        let fromDataset = d.call("predict", ["model": "net", "inputs": ["dataset": "pics"], "returnLogits": true])["predictions"]?.arrayValue ?? []
        XCTAssertEqual(fromDataset.count, 6)
        XCTAssertEqual(fromDataset.compactMap { $0["label"]?.intValue }, [0, 0, 1, 1, 2, 2])
        // One image at a time both ways (a batch of six may round its sums otherwise).
        for (i, f) in files.enumerated() {
            let fromPath = d.call("predict", ["model": "net", "inputs": ["path": .string("folder/" + f)], "returnLogits": true])
            let alone = d.call("predict", ["model": "net", "inputs": ["dataset": "pics", "indices": [.integer(Int64(i))]], "returnLogits": true])
            XCTAssertEqual(fromPath["predictions"]?[0]?["logits"], alone["predictions"]?[0]?["logits"], f)
            XCTAssertNotNil(alone["predictions"]?[0]?["logits"])
        }
        // Resized from a larger picture: still [3, 64, 64], and not the same logits as a crop
        // of the unresized picture would give.
        try writeImage("big/x/one.png", side: 100, seed: 9)
        let resized = d.call("dataset/load", ["name": "big", "kind": "imagefolder", "path": "big", "model": "net", "resize": 64])
        XCTAssertEqual(resized["datasets"]?[0]?["imageShape"], [3, 64, 64])
        let cropped = d.call("dataset/load", ["name": "crop", "kind": "imagefolder", "path": "big", "model": "net"])
        XCTAssertEqual(cropped["datasets"]?[0]?["count"], 1)
        XCTAssertNotEqual(d.call("predict", ["model": "net", "inputs": ["dataset": "big"], "returnLogits": true])["predictions"],
                          d.call("predict", ["model": "net", "inputs": ["dataset": "crop"], "returnLogits": true])["predictions"])

        let attack = d.call("attack", ["model": "net", "method": "pgd", "inputs": ["dataset": "pics", "indices": [0, 2, 4]],
                                       "epsilon": 0.05, "stepSize": 0.02, "steps": 2])
        XCTAssertEqual(attack["samples"]?.arrayValue?.compactMap { $0["label"]?.intValue }, [0, 1, 2])
        let probe = d.call("probe", ["model": "net", "layer": "relu3", "kind": "activations", "units": [0, 1], "dataset": ["name": "pics"]])
        XCTAssertEqual(probe["activations"]?["labels"], [0, 0, 1, 1, 2, 2])
        let step = d.call("trainStep", ["model": "net", "dataset": "pics", "batchSize": 3, "steps": 2])
        XCTAssertEqual(step["steps"], 2)
    }

    func testBrokenImageIsNamedAndEmptyFolderRefused() throws {
        try writeImage("folder/car/good.png", side: 64, seed: 0)
        try Data("not really a jpeg".utf8).write(to: root.appendingPathComponent("folder/car/bad.jpg"))
        try FileManager.default.createDirectory(at: root.appendingPathComponent("empty/car"), withIntermediateDirectories: true)
        let d = try DaemonProcess()
        _ = d.initialize(root: root.path)
        let e = d.failure("dataset/load", ["name": "x", "kind": "imagefolder", "path": "folder", "shape": [3, 64, 64]])
        XCTAssertEqual(e.code, -32602)
        XCTAssertTrue(e.message.contains("bad.jpg") && e.message.contains("not a readable image"), e.message)
        let empty = d.failure("dataset/load", ["name": "x", "kind": "imagefolder", "path": "empty", "shape": [3, 64, 64]])
        XCTAssertTrue(empty.message.contains("no images"), empty.message)
        XCTAssertEqual(d.call("dataset/list")["datasets"]?.arrayValue?.count, 0)
    }
}
