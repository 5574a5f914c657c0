// libFuzzer entry point over the file formats the daemon reads from client paths: safetensors
// weights, model spec JSON (and the model it builds), NPY arrays and labels, MNIST CSV, gzip,
// IDX, images (stb_image through ImageDecoding), NPZ archives (the ZIP reader), CIFAR binaries,
// image-folder pictures through ImageTransform, the ImageNet-validation labels and class files, and ONNX models (the protobuf
// parser and the import into a graph spec). Built with the JSON, Files, SafeTensors, TensorEngine, NN, Data,
// SwiftProtobuf and ONNX sources by fuzz/run.sh (`make fuzz`); not part of the package.
//
// Input layout: byte 0 picks the format; the rest is the file. Each format goes through the
// same entry point the daemon uses (a path read within ReadLimits, as model/load and
// dataset/load do), from a file in a private temporary directory. Properties checked (a
// violation traps, which libFuzzer reports as a crash):
//   - nothing crashes, hangs or allocates past the read limit: every malformed file is an error;
//   - errors are the loaders' own types (DataError, ModelError, SafeTensorsError,
//     FileReadError, ImageDecoding.Failure, ONNXError), never something else;
//   - what loads is consistent: tensor sizes match their shapes, a safetensors file re-encodes
//     and decodes to the same tensors, a built model's weights round-trip and its forward pass
//     gives the shape its spec promises, labels index the classes.

import Data
import Files
import Foundation
import NN
import ONNX
import SafeTensors
import TensorEngine

/// The formats, one per value of the first byte (modulo their count).
enum Format: UInt8, CaseIterable {
    case safetensors, spec, npy, npyLabels, csv, gzip, idx, image, npz, cifar, imageTransform, imagenetVal, onnx
}

/// A private directory for the file under test (RAM-backed when /dev/shm exists).
let scratch: String = {
    let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
    let dir = base + "/advlens-formats-fuzz-\(getpid())"
    mkdir(dir, 0o700)
    return dir
}()

/// Reads stop at 1 MiB (decompressed too): a file inflating past it must be refused, not read.
let limits = ReadLimits(maxBytes: 1 << 20)

func file(_ bytes: UnsafeRawBufferPointer, _ name: String) -> String {
    let path = scratch + "/" + name
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    precondition(fd >= 0, "cannot create \(path)")
    var done = 0
    while done < bytes.count {
        let n = write(fd, bytes.baseAddress! + done, bytes.count - done)
        precondition(n > 0, "cannot write \(path)")
        done += n
    }
    close(fd)
    return path
}

/// Runs `body`; an error of the loaders' own types is the expected answer to a bad file.
func expectingLoaderErrors(_ what: String, _ body: () throws -> Void) {
    do {
        try body()
    } catch is DataError, is ModelError, is SafeTensorsError, is FileReadError, is ImageDecoding.Failure, is ONNXError {
        return
    } catch {
        fatalError("\(what) threw an unexpected error type: \(type(of: error)): \(error)")
    }
}

func checkTensor(_ t: Tensor, _ what: String) {
    let count = t.shape.reduce(1) { $0 * $1 }
    guard t.shape.allSatisfy({ $0 >= 0 }), count == t.data.count else {
        fatalError("\(what): shape \(t.shape) but \(t.data.count) values")
    }
}

func fuzzSafeTensors(_ body: UnsafeRawBufferPointer) {
    expectingLoaderErrors("safetensors") {
        let f = try SafeTensorsFile.read(contentsOf: URL(fileURLWithPath: file(body, "w.safetensors")), limits: limits)
        for (name, t) in f.tensors {
            guard t.name == name, t.shape.reduce(1, *) == t.count else { fatalError("tensor \(name): shape \(t.shape), \(t.count) values") }
        }
        // Re-encoded (F32, I64 where read as I64, as model/save writes) and read back: the same
        // names, shapes and values (NaN payloads aside).
        let again = try SafeTensorsFile.decode(f.encoded())
        guard again.names == f.names, again.metadata == f.metadata else { fatalError("round trip changed the names or metadata") }
        for name in f.names {
            let a = f.tensors[name]!, b = again.tensors[name]!
            guard a.shape == b.shape, zip(a.floats, b.floats).allSatisfy({ $0 == $1 || ($0.isNaN && $1.isNaN) }) else {
                fatalError("round trip changed tensor \(name)")
            }
        }
    }
}

/// The spec as model/load reads it, against an empty weights file (refused before building
/// when the spec needs values) and, when it is small, built with its own weights: they must
/// load back, and a forward pass must give the spec's output shape.
func fuzzSpec(_ body: UnsafeRawBufferPointer) {
    expectingLoaderErrors("spec") {
        let spec = try Model.decodeSpec(Data(body))
        _ = try? Model.load(spec: spec, weights: SafeTensorsFile())
        let inputValues = spec.input.shape.reduce(1) { a, b in a.multipliedReportingOverflow(by: max(b, 0)).overflow ? Int.max : a * max(b, 0) }
        guard spec.valueCount <= 200_000, inputValues <= 4096 else { return }
        let model = try Model(spec: spec)
        let weights = try SafeTensorsFile.decode(model.weightsFile())
        let loaded = try Model.load(spec: spec, weights: weights)
        guard try loaded.weightsFile() == model.weightsFile() else { fatalError("weights did not round-trip") }
        // Activations can be far larger than the weights (a wide conv over a big input): only
        // run models whose every layer output is small.
        guard model.outputShapes.values.allSatisfy({ $0.reduce(1) { a, b in a.multipliedReportingOverflow(by: b).overflow ? Int.max : a * b } <= 1 << 16 }) else { return }
        let x = Tensor(shape: [1] + spec.input.shape, repeating: spec.input.lower)
        let y = try model.predict(x)
        checkTensor(y, "forward")
        guard let last = model.outputShapes[model.logitsLayer], y.shape == [1] + last else {
            fatalError("forward gave \(y.shape), the spec promises [1] + \(model.outputShapes[model.logitsLayer] ?? [])")
        }
    }
}

func fuzzNPY(_ body: UnsafeRawBufferPointer) {
    expectingLoaderErrors("npy") {
        let path = file(body, "a.npy")
        let t = try NPY.load(path: path, limits: limits)
        checkTensor(t, "npy")
        _ = try NPY.dtype(path: path, limits: limits)
    }
}

func fuzzNPYLabels(_ body: UnsafeRawBufferPointer) {
    expectingLoaderErrors("npy labels") {
        let labels = try NPY.loadLabels(path: file(body, "labels.npy"), limits: limits)
        _ = labels.count
    }
}

func checkDataset(_ d: Dataset, _ what: String) {
    checkTensor(d.images, what)
    guard d.images.shape.first == d.labels.count, d.labels.allSatisfy({ $0 >= 0 && $0 < d.classes.count }) else {
        fatalError("\(what): \(d.labels.count) labels for images \(d.images.shape), classes \(d.classes.count)")
    }
}

/// MNIST CSV with 4-pixel images, so small inputs can hold whole rows.
func fuzzCSV(_ body: UnsafeRawBufferPointer) {
    expectingLoaderErrors("csv") {
        checkDataset(try MNISTCSV.load(path: file(body, "d.csv"), imageShape: [1, 2, 2], limits: limits), "csv")
    }
}

/// Any bytes through the gzip reader (plain files pass through; gzip is inflated within the
/// limit), then as CSV.
func fuzzGzip(_ body: UnsafeRawBufferPointer) {
    expectingLoaderErrors("gzip") {
        let path = file(body, "d.csv.gz")
        let bytes = try Gzip.readFile(path, limits: limits)
        guard bytes.count <= limits.maxBytes else { fatalError("gzip read \(bytes.count) bytes past the limit") }
        checkDataset(try MNISTCSV.parse(bytes, name: "d", imageShape: [1, 2, 2]), "gzip csv")
    }
}

/// The images file and the labels file, split where the first byte says.
func fuzzIDX(_ body: UnsafeRawBufferPointer) {
    guard body.count > 1 else { return }
    let cut = 1 + min(Int(body[0]) * 4, body.count - 1)
    expectingLoaderErrors("idx") {
        let images = file(UnsafeRawBufferPointer(rebasing: body[1..<cut]), "images.idx3-ubyte")
        let labels = file(UnsafeRawBufferPointer(rebasing: body[cut...]), "labels.idx1-ubyte")
        checkDataset(try MNISTIDX.load(images: images, labels: labels, limits: limits), "idx")
    }
}

/// An image file as a `png` input is read: bounded, then decoded at the size the first byte
/// picks (grey or RGB), as a model of that input shape would.
func fuzzImage(_ body: UnsafeRawBufferPointer) {
    guard body.count > 1 else { return }
    let side = Int(body[0] & 0x1F) + 1, channels = body[0] & 0x20 == 0 ? 1 : 3
    expectingLoaderErrors("image") {
        let bytes = try ClientFile.read(file(UnsafeRawBufferPointer(rebasing: body[1...]), "i.png"), limits: limits)
        let t = try ImageDecoding.decode(bytes, channels: channels, height: side, width: side, range: (0, 1))
        checkTensor(t, "image")
        guard t.shape == [1, channels, side, side], t.data.allSatisfy({ (0...1).contains($0) }) else {
            fatalError("image decoded to \(t.shape) with values outside [0, 1]")
        }
    }
}

/// An `.npz` archive: its entries listed and extracted within the limit (never more than an
/// entry records), then as the npz kind reads it, in the layout the first byte picks.
func fuzzNPZ(_ body: UnsafeRawBufferPointer) {
    guard body.count > 1 else { return }
    let layout: NPZ.Layout = body[0] & 1 == 0 ? .nchw : .nhwc
    expectingLoaderErrors("npz") {
        let zip = try ZipArchive.read(file(UnsafeRawBufferPointer(rebasing: body[1...]), "a.npz"), limits: limits)
        for entry in zip.entries {
            expectingLoaderErrors("zip entry") {
                let bytes = try zip.extract(entry, limits: limits)
                guard bytes.count == entry.uncompressedSize else { fatalError("entry \(entry.name): \(bytes.count) bytes, \(entry.uncompressedSize) recorded") }
            }
        }
        checkDataset(try NPZ.parse(zip, images: "images", labels: "labels", layout: layout, name: "n", limits: limits), "npz")
    }
}

/// A CIFAR folder: the body is test_batch.bin (CIFAR-10) or test.bin (CIFAR-100, first byte odd),
/// with CIFAR-100's coarse labels when the first byte's second bit is set.
func fuzzCIFAR(_ body: UnsafeRawBufferPointer) {
    guard body.count > 1 else { return }
    let hundred = body[0] & 1 == 1, coarse = hundred && body[0] & 2 == 2
    let folder = scratch + "/cifar"
    mkdir(folder, 0o700)
    for name in ["test_batch.bin", "test.bin"] { unlink(folder + "/" + name) }
    _ = file(UnsafeRawBufferPointer(rebasing: body[1...]), "cifar/" + (hundred ? "test.bin" : "test_batch.bin"))
    expectingLoaderErrors("cifar") {
        let d = try CIFAR.load(folder: folder, part: .test, labels: coarse ? .coarse : .fine, name: "c", limits: limits)
        checkDataset(d, "cifar")
        guard d.imageShape == [3, 32, 32], d.images.data.allSatisfy({ (0...1).contains($0) }) else { fatalError("cifar pixels out of [0, 1]") }
        if let a = d.classSimilarity, a.count != d.classes.count * d.classes.count { fatalError("similarity of \(a.count) for \(d.classes.count) classes") }
    }
}

/// An image as an image folder's picture: decoded, resized (shorter side from the first byte)
/// and center-cropped to a small shape; every value in range.
func fuzzImageTransform(_ body: UnsafeRawBufferPointer) {
    guard body.count > 2 else { return }
    let channels = body[0] & 1 == 0 ? 1 : 3, side = Int(body[0] >> 1 & 0x7) + 1
    let resize = body[1] == 0 ? nil : Int(body[1] & 0x3F) + 1
    expectingLoaderErrors("image transform") {
        let transform = try ImageTransform(shape: [channels, side, side], resize: resize, range: (-1, 1))
        let bytes = try ClientFile.read(file(UnsafeRawBufferPointer(rebasing: body[2...]), "t.png"), limits: limits)
        var out = [Float](repeating: .nan, count: transform.valuesPerImage)
        try out.withUnsafeMutableBufferPointer { try transform.apply(bytes, path: "t.png", into: $0) }
        guard out.allSatisfy({ (-1...1).contains($0) }) else { fatalError("transformed values outside [-1, 1]") }
    }
}

/// The ImageNet-validation layout: a folder with one small PNG, and a labels file and a
/// class-names file split where the first byte says.
func fuzzImageNetValidation(_ body: UnsafeRawBufferPointer) {
    guard body.count > 1 else { return }
    let cut = 1 + min(Int(body[0]), body.count - 1)
    let folder = scratch + "/val"
    mkdir(folder, 0o700)
    let png = ImageEncoding.png([0, 64, 128, 255], width: 2, height: 2, channels: 1)!
    png.withUnsafeBytes { _ = file($0, "val/ILSVRC2012_val_00000001.png") }
    expectingLoaderErrors("imagenet-val") {
        let classes = file(UnsafeRawBufferPointer(rebasing: body[1..<cut]), "classes.txt")
        let labels = file(UnsafeRawBufferPointer(rebasing: body[cut...]), "labels.txt")
        let d = try ImageNetValidation.load(folder: folder, labels: labels, classNames: classes, labelBase: Int(body[0] & 1),
                                            transform: ImageTransform(shape: [1, 2, 2]), name: "v", limits: limits)
        checkDataset(d, "imagenet-val")
    }
}

/// An ONNX model as model/load {"onnx"} reads it: what imports has weights that fill their
/// shapes and a spec NN decodes (or refuses with its own error).
func fuzzONNX(_ body: UnsafeRawBufferPointer) {
    expectingLoaderErrors("onnx") {
        let bytes = try ClientFile.read(file(body, "m.onnx"), limits: limits)
        let imported = try ONNXImporter.importModel(Data(bytes), options: ONNXImportOptions(name: "fuzz"))
        for (name, t) in imported.weights.tensors where t.shape.reduce(1, *) != t.count {
            fatalError("imported weight \(name): shape \(t.shape), \(t.count) values")
        }
        _ = try Model.decodeSpec(imported.specJSON)
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func formatsFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let format = Format(rawValue: data[0] % UInt8(Format.allCases.count))!
    let body = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    switch format {
    case .safetensors: fuzzSafeTensors(body)
    case .spec: fuzzSpec(body)
    case .npy: fuzzNPY(body)
    case .npyLabels: fuzzNPYLabels(body)
    case .csv: fuzzCSV(body)
    case .gzip: fuzzGzip(body)
    case .idx: fuzzIDX(body)
    case .image: fuzzImage(body)
    case .npz: fuzzNPZ(body)
    case .cifar: fuzzCIFAR(body)
    case .imageTransform: fuzzImageTransform(body)
    case .imagenetVal: fuzzImageNetValidation(body)
    case .onnx: fuzzONNX(body)
    }
    return 0
}
