/// `ImageFolder`: a dataset laid out as `root/<class>/<image>` (torchvision's ImageFolder),
/// each image decoded and transformed to one shape.
import Files
import TensorEngine
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a file of its own: listing folders and decoding image lists are what the image kinds
/// (this and `ImageNetValidation`) share; the order rules are stated once here.
///
/// Order: class folders and the images in each are sorted by the bytes of their UTF-8 names
/// (what `LC_ALL=C ls` shows); names starting with "." are skipped, as are files whose
/// extension is not .png, .jpg, .jpeg or .bmp (any case). Image i of the dataset is the i-th
/// of the first class folder's images, then the second's, and so on.
public enum ImageFolder {
    /// The image extensions read (lower case).
    public static let extensions: Set<String> = ["png", "jpg", "jpeg", "bmp"]

    /// What an image dataset's folder holds before any image is decoded: the image files in
    /// dataset order, their labels and the class names (what the in-memory load decodes, and
    /// what a streamed set reads from).
    public struct Listing: Sendable {
        public var files: [String]
        public var labels: [Int]
        public var classes: [String]
        /// What the images are read from, for errors.
        public var what: String

        /// The decoded images' size in bytes (4 per value) under `transform`, nil on overflow.
        public func decodedBytes(_ transform: ImageTransform) -> Int? {
            let (values, overflow) = transform.valuesPerImage.multipliedReportingOverflow(by: files.count)
            return overflow || values > Int.max / 4 ? nil : values * 4
        }

        /// The images decoded into memory (`ImageFolder.decode`).
        public func load(transform: ImageTransform, name: String, limits: ReadLimits = .current) throws -> Dataset {
            Dataset(name: name, images: try ImageFolder.decode(files, transform: transform, what: what, limits: limits), labels: labels, classes: classes)
        }

        /// The images streamed: decoded per batch, keeping at most `cacheBytes` of them.
        public func stream(transform: ImageTransform, name: String, cacheBytes: Int, limits: ReadLimits = .current) -> Dataset {
            let reader = ImageFileReader(files: files, transform: transform, maxFileBytes: limits.maxBytes)
            return Dataset(name: name, streamed: StreamedImages(reader: reader, cache: ImageCache(capacityBytes: cacheBytes)), labels: labels, classes: classes)
        }
    }

    /// Loads `root` into memory. Without `classes`, the class names are the folder names in
    /// order; with `classes` (a label map), folder `classes[k]` holds the images of label k,
    /// every folder must be named there, and a class without a folder has no images.
    public static func load(root: String, classes: [String]? = nil, transform: ImageTransform,
                            name: String, limits: ReadLimits = .current) throws -> Dataset {
        try listing(root: root, classes: classes).load(transform: transform, name: name, limits: limits)
    }

    /// The files, labels and classes of `root` (see `load`).
    public static func listing(root: String, classes: [String]? = nil) throws -> Listing {
        let folders = try list(root).filter { $0.isDirectory }.map(\.name)
        let classNames = classes ?? folders
        var labelOf: [String: Int] = [:]
        for (k, c) in classNames.enumerated() where labelOf[c] == nil { labelOf[c] = k }
        var files: [String] = [], labels: [Int] = []
        for folder in folders {
            guard let label = labelOf[folder] else {
                throw DataError.format(path: root + "/" + folder, reason: "folder \"\(folder)\" is not one of the \(classNames.count) classes given")
            }
            for entry in try list(root + "/" + folder) where !entry.isDirectory && isImage(entry.name) {
                files.append(root + "/" + folder + "/" + entry.name)
                labels.append(label)
            }
        }
        guard !files.isEmpty else {
            throw DataError.format(path: root, reason: "no images: expected <class>/<image>.png (or .jpg, .jpeg, .bmp) under it")
        }
        return Listing(files: files, labels: labels, classes: classNames, what: root)
    }

    /// Whether `name` has an image extension.
    public static func isImage(_ name: String) -> Bool {
        guard let dot = name.lastIndex(of: ".") else { return false }
        return extensions.contains(name[name.index(after: dot)...].lowercased())
    }

    /// Decodes and transforms `files` into one [N, C, H, W] tensor. Its size is checked
    /// against `limits.maxBytes` first (`FileReadError.tooLarge` naming `what`), each file is
    /// read within `limits`, and `limits.shouldStop` is asked before every image.
    public static func decode(_ files: [String], transform: ImageTransform, what: String, limits: ReadLimits) throws -> Tensor {
        let per = transform.valuesPerImage
        let (values, overflow) = per.multipliedReportingOverflow(by: files.count)
        guard !overflow, values <= limits.maxBytes / 4 else { throw FileReadError.tooLarge(path: what, limit: limits.maxBytes) }
        var failure: Error?
        let tensor = Tensor(uninitializedShape: [files.count] + transform.shape) { out in
            for (i, file) in files.enumerated() {
                do {
                    if limits.shouldStop() { throw FileReadError.cancelled(path: what) }
                    let bytes: [UInt8]
                    do { bytes = try ClientFile.read(file, limits: limits) } catch FileReadError.io(_, let reason) {
                        throw DataError.io(path: file, reason: reason)
                    }
                    try transform.apply(bytes, path: file, into: UnsafeMutableBufferPointer(rebasing: out[i * per..<(i + 1) * per]))
                } catch {
                    failure = error
                    for k in i * per..<values { out[k] = 0 }
                    return
                }
            }
        }
        if let failure { throw failure }
        return tensor
    }

    /// One directory entry.
    public struct Entry: Sendable {
        public var name: String
        public var isDirectory: Bool
    }

    /// The entries of the directory `path` but "." names, sorted by UTF-8 bytes; whether an
    /// entry is a directory follows symbolic links.
    public static func list(_ path: String) throws -> [Entry] {
        guard let dir = opendir(path) else {
            throw DataError.io(path: path, reason: "cannot list: \(String(cString: strerror(errno)))")
        }
        defer { closedir(dir) }
        var entries: [Entry] = []
        errno = 0
        while let e = readdir(dir) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name.hasPrefix(".") { continue }
            var st = stat()
            let isDirectory = stat(path + "/" + name, &st) == 0 && st.st_mode & S_IFMT == S_IFDIR
            entries.append(Entry(name: name, isDirectory: isDirectory))
        }
        return entries.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
    }
}
