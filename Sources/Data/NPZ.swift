/// `NPZ`: NumPy `.npz` archives (`numpy.savez`, `savez_compressed`): named `.npy` arrays in a
/// ZIP file, one for the images and one for the labels.
import Files
import TensorEngine
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why the layout is stated, not guessed: a [N, 32, 32, 3] array and a [N, 3, 32, 32] one can
/// both be read either way when sides equal channel counts; the caller says which.
public enum NPZ {
    /// How the images array orders its axes.
    public enum Layout: String, Sendable {
        case nchw = "NCHW"
        case nhwc = "NHWC"
    }

    /// Loads the arrays `images` and `labels` (names as `numpy.savez` keys them, with or
    /// without ".npy") of the archive at `path`. Images are [N, C, H, W] or [N, H, W, C] as
    /// `layout` says, or [N, H, W] (one channel); uint8 pixels are scaled by 1/255, other
    /// dtypes taken as they are (in the model's range). Labels are a 1-D integer array of N.
    /// The archive, each entry and the floats made of it stay within `limits.maxBytes`.
    public static func load(path: String, images: String = "images", labels: String = "labels", layout: Layout,
                            name: String, limits: ReadLimits = .current) throws -> Dataset {
        try parse(ZipArchive.read(path, limits: limits), images: images, labels: labels, layout: layout, name: name, limits: limits)
    }

    /// The archive's images streamed when they would take more than `budget` bytes as floats
    /// (with 8 per label): the images array, stored uncompressed (`numpy.savez`), is read an
    /// image at a time from its byte range (`NPYRangeReader`), only the labels are read now.
    /// Nil when the images fit (load them with `load`). A compressed images array that does not
    /// fit cannot be read by range: refused, saying how to store it.
    public static func stream(path: String, images: String = "images", labels: String = "labels", layout: Layout, name: String,
                              budget: Int, cacheBytes: Int, limits: ReadLimits = .current) throws -> Dataset? {
        var open = limits
        open.maxBytes = Int.max
        let (fd, size): (Int32, Int)
        do { (fd, size) = try ClientFile.openRegular(path, limits: open) } catch FileReadError.io(_, let reason) {
            throw DataError.io(path: path, reason: reason)
        }
        defer { close(fd) }
        let zip = try ZipArchive.directory(fd: fd, size: size, path: path)
        let imageEntry = try entry(zip, images), labelEntry = try entry(zip, labels)
        guard imageEntry.method == 0 else {
            guard imageEntry.uncompressedSize > budget / 4 else { return nil }   // it may still fit: `load` decides
            throw FileReadError.tooLarge(path: "\(path) (array \"\(images)\", compressed: store it with numpy.savez, not savez_compressed, "
                                         + "or as .npy to have it streamed)", limit: budget)
        }
        let start = try zip.dataOffset(of: imageEntry, fd: fd)
        let reader = try NPYRangeReader(path: path, layout: layout, limits: limits, region: start..<(start + imageEntry.uncompressedSize))
        let (values, overflow) = reader.imageShape.reduce(reader.count, *).multipliedReportingOverflow(by: 4)
        guard overflow || values + reader.count * 8 > budget else { return nil }
        let labelsStart = try zip.dataOffset(of: labelEntry, fd: fd)
        let window = try zip.window(fd: fd, labelEntry.localHeaderOffset..<(labelsStart + labelEntry.compressedSize))
        let y = try checkedLabels(NPY.parseLabels(window.extract(labelEntry, limits: limits), path: "\(path) (array \"\(labels)\")"),
                                  count: reader.count, path: path, images: images, labels: labels)
        let classCount = (y.max() ?? 0) + 1
        return Dataset(name: name, streamed: StreamedImages(reader: reader, cache: ImageCache(capacityBytes: cacheBytes)), labels: y,
                       classes: (0..<classCount).map(String.init))
    }

    /// The archive's entry for array `key` (with or without ".npy"), or an error listing those it holds.
    static func entry(_ zip: ZipArchive, _ key: String) throws -> ZipArchive.Entry {
        let file = key.hasSuffix(".npy") ? key : key + ".npy"
        guard let e = zip.entry(file) else {
            let known = zip.entries.map { "\"" + ($0.name.hasSuffix(".npy") ? String($0.name.dropLast(4)) : $0.name) + "\"" }
            throw DataError.format(path: zip.path, reason: "no array \"\(key)\"; it holds \(known.isEmpty ? "none" : known.joined(separator: ", "))")
        }
        return e
    }

    /// Labels checked: one per image, each in 0..<2^20.
    static func checkedLabels(_ y: [Int], count: Int, path: String, images: String, labels: String) throws -> [Int] {
        let at = "\(path) (array \"\(labels)\")"
        guard y.count == count else { throw DataError.format(path: at, reason: "\(y.count) labels for the \(count) images of \"\(images)\"") }
        if let bad = y.firstIndex(where: { $0 < 0 || $0 >= 1 << 20 }) {
            throw DataError.format(path: at, reason: "label \(y[bad]) at index \(bad) is outside 0...\((1 << 20) - 1)")
        }
        return y
    }

    /// `load` for an archive already read; the class names are the label numbers 0...max.
    public static func parse(_ zip: ZipArchive, images: String, labels: String, layout: Layout,
                             name: String, limits: ReadLimits) throws -> Dataset {
        func entry(_ key: String) throws -> ZipArchive.Entry {
            let e = try NPZ.entry(zip, key)
            // Values become 4-byte floats: uint8 pixels take four times their stored size.
            guard e.uncompressedSize <= limits.maxBytes / 4 else { throw FileReadError.tooLarge(path: "\(zip.path) (array \"\(key)\")", limit: limits.maxBytes) }
            return e
        }
        let imageEntry = try entry(images), labelEntry = try entry(labels)
        let where_ = { (key: String) in "\(zip.path) (array \"\(key)\")" }
        var (x, dtype) = try NPY.parse(zip.extract(imageEntry, limits: limits), path: where_(images))
        let y = try NPY.parseLabels(zip.extract(labelEntry, limits: limits), path: where_(labels))
        switch x.rank {
        case 3: x = x.reshaped([x.shape[0], 1, x.shape[1], x.shape[2]])
        case 4 where layout == .nhwc: x = nchw(x)
        case 4: break
        default:
            throw DataError.format(path: where_(images), reason: "expected images of shape [N, C, H, W], [N, H, W, C] or [N, H, W], found \(x.shape)")
        }
        guard x.batch > 0, x.count > 0 else { throw DataError.format(path: where_(images), reason: "holds no images (shape \(x.shape))") }
        _ = try checkedLabels(y, count: x.batch, path: zip.path, images: images, labels: labels)
        if dtype == "|u1" { x.scale(1 / 255) }
        let classCount = (y.max() ?? 0) + 1
        return Dataset(name: name, images: x, labels: y, classes: (0..<classCount).map(String.init))
    }

    /// [N, H, W, C] to [N, C, H, W].
    public static func nchw(_ x: Tensor) -> Tensor {
        let (n, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        return x.data.withUnsafeBufferPointer { src in
            Tensor(uninitializedShape: [n, c, h, w]) { out in
                for i in 0..<n {
                    for y in 0..<h {
                        for xx in 0..<w {
                            let from = ((i * h + y) * w + xx) * c
                            for ch in 0..<c { out[((i * c + ch) * h + y) * w + xx] = src[from + ch] }
                        }
                    }
                }
            }
        }
    }
}
