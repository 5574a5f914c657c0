/// `MNISTIDX`: the IDX files MNIST (and Fashion-MNIST, EMNIST) ship as, plain or gzipped:
/// images are magic 0x00000803 (unsigned bytes, 3 dimensions), then big-endian u32 count,
/// rows, columns and count*rows*columns pixels; labels are magic 0x00000801, a count and one
/// byte per label.
import Files
import TensorEngine

public enum MNISTIDX {
    /// Loads an image file and its label file (each `.gz` or plain, detected from content)
    /// into a dataset of shape [N, 1, rows, columns] with pixels scaled by 1/255. The counts
    /// must agree, the files must hold exactly the bytes their headers promise, and every
    /// label must index `classes`. The dataset is named after the image file. Each file is
    /// read within `limits` (size, inflated size, cancellation).
    public static func load(images: String, labels: String,
                            classes: [String] = Dataset.digitClasses, limits: ReadLimits = .current) throws -> Dataset {
        let imageBytes = try Gzip.readFile(images, limits: limits)
        let labelBytes = try Gzip.readFile(labels, limits: limits)
        var name = String(images.split(separator: "/").last ?? Substring(images))
        for ext in [".gz", ".idx3-ubyte", "-idx3-ubyte"] where name.hasSuffix(ext) { name.removeLast(ext.count) }
        return try parse(images: imageBytes, labels: labelBytes, name: name,
                         imagesPath: images, labelsPath: labels, classes: classes)
    }

    /// Parses IDX bytes already in memory; the paths are only used in error messages.
    public static func parse(images: [UInt8], labels: [UInt8], name: String,
                             imagesPath: String = "<images>", labelsPath: String = "<labels>",
                             classes: [String] = Dataset.digitClasses) throws -> Dataset {
        let dims = try header(images, magic: 0x0000_0803, dimensions: 3, path: imagesPath)
        let labelDims = try header(labels, magic: 0x0000_0801, dimensions: 1, path: labelsPath)
        let (count, rows, cols) = (dims[0], dims[1], dims[2])
        guard labelDims[0] == count else {
            throw DataError.format(path: labelsPath, reason: "holds \(labelDims[0]) labels but \(imagesPath) holds \(count) images")
        }
        let (perImage, overflow1) = rows.multipliedReportingOverflow(by: cols)
        let (pixelCount, overflow2) = perImage.multipliedReportingOverflow(by: count)
        guard !overflow1, !overflow2, pixelCount <= images.count - 16 else {
            throw DataError.format(path: imagesPath, reason: "header promises \(count) images of \(rows)x\(cols) but the file holds \(images.count - 16) pixel bytes")
        }
        try checkLength(images, expected: 16 + pixelCount, path: imagesPath)
        try checkLength(labels, expected: 8 + count, path: labelsPath)

        var labelValues = [Int](repeating: 0, count: count)
        for i in 0..<count {
            let l = Int(labels[8 + i])
            guard l < classes.count else {
                throw DataError.format(path: labelsPath, reason: "label \(l) of item \(i) out of range 0...\(classes.count - 1)")
            }
            labelValues[i] = l
        }
        var table = [Float](repeating: 0, count: 256)
        for v in 0..<256 { table[v] = Float(v) / 255 }
        let tensor = Tensor(uninitializedShape: [count, 1, rows, cols]) { out in
            images.withUnsafeBufferPointer { src in
                table.withUnsafeBufferPointer { t in
                    for k in 0..<pixelCount { out[k] = t[Int(src[16 + k])] }
                }
            }
        }
        return Dataset(name: name, images: tensor, labels: labelValues, classes: classes)
    }

    /// Checks the magic number and reads `dimensions` big-endian u32 sizes.
    private static func header(_ bytes: [UInt8], magic: UInt32, dimensions: Int, path: String) throws -> [Int] {
        let length = 4 + 4 * dimensions
        func u32(_ at: Int) -> UInt32 {
            UInt32(bytes[at]) << 24 | UInt32(bytes[at + 1]) << 16 | UInt32(bytes[at + 2]) << 8 | UInt32(bytes[at + 3])
        }
        if bytes.count >= 4, u32(0) != magic {
            throw DataError.format(path: path, reason: "bad IDX magic \(hex(u32(0))), expected \(hex(magic)) (\(magic == 0x803 ? "images" : "labels"))")
        }
        guard bytes.count >= length else {
            throw DataError.format(path: path, reason: "truncated IDX header: \(bytes.count) bytes, need \(length)")
        }
        return (0..<dimensions).map { Int(u32(4 + 4 * $0)) }
    }

    private static func checkLength(_ bytes: [UInt8], expected: Int, path: String) throws {
        if bytes.count < expected {
            throw DataError.format(path: path, reason: "truncated: \(bytes.count) bytes, header promises \(expected)")
        }
        if bytes.count > expected {
            throw DataError.format(path: path, reason: "\(bytes.count - expected) unexpected bytes after the \(expected) the header promises")
        }
    }

    private static func hex(_ v: UInt32) -> String {
        let s = String(v, radix: 16)
        return "0x" + String(repeating: "0", count: 8 - s.count) + s
    }
}
