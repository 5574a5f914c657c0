/// `CIFAR`: the binary versions of CIFAR-10 and CIFAR-100 as extracted
/// (`cifar-10-batches-bin/`, `cifar-100-binary/`).
import Files
import TensorEngine
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a reader of the binary version: it is the one that needs no Python to read. Its records
/// are fixed-size: CIFAR-10 one label byte then 3,072 pixel bytes (1,024 red, 1,024 green,
/// 1,024 blue, each 32 rows of 32, i.e. already [3, 32, 32]); CIFAR-100 a coarse-label byte, a
/// fine-label byte, then the same pixels.
///
/// The folder decides the variant: `data_batch_*.bin` / `test_batch.bin` (CIFAR-10, train is
/// every `data_batch_*.bin` in name order) or `train.bin` / `test.bin` (CIFAR-100). Class names
/// come from `batches.meta.txt` (CIFAR-10) or `fine_label_names.txt` and
/// `coarse_label_names.txt` (CIFAR-100), one per line, when present; otherwise CIFAR-10's
/// published names or the label numbers. With fine labels, CIFAR-100's coarse labels define
/// the class-similarity matrix A (`ClassHierarchy`: 0.5 for two classes of one superclass).
public enum CIFAR {
    public enum Part: String, Sendable { case train, test }
    public enum Labels: String, Sendable { case fine, coarse }

    /// CIFAR-10's class names, as its `batches.meta.txt` lists them.
    public static let cifar10Classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

    public static let pixelsPerImage = 3 * 32 * 32

    /// Loads `part` of the CIFAR folder `folder`; `labels` picks CIFAR-100's label level
    /// (refused for CIFAR-10 when coarse). Pixels are scaled by 1/255.
    public static func load(folder: String, part: Part, labels level: Labels = .fine, name: String,
                            limits: ReadLimits = .current) throws -> Dataset {
        try listing(folder: folder, part: part, labels: level, limits: limits).load(name: name, limits: limits)
    }

    /// One part's record files, labels and classes, every record's labels checked; its pixels
    /// are read by `load` (into memory) or `stream` (per batch, through `CIFARRecordReader`).
    public struct Listing: Sendable {
        public let files: [String]
        /// Records per file, in file order.
        public let records: [Int]
        /// Bytes per record: 1 (CIFAR-10) or 2 (CIFAR-100) label bytes, then the pixels.
        public let recordBytes: Int
        public let labels: [Int]
        public let classes: [String]
        public let classSimilarity: [Float]?

        public var count: Int { labels.count }
        /// The images' bytes as floats, and their labels'.
        public var decodedBytes: Int { count * (CIFAR.pixelsPerImage * 4 + 8) }

        /// The images read into memory.
        public func load(name: String, limits: ReadLimits = .current) throws -> Dataset {
            guard count <= limits.maxBytes / (pixelsPerImage * 4) else { throw FileReadError.tooLarge(path: files[0], limit: limits.maxBytes) }
            let reader = try CIFARRecordReader(self, limits: limits)
            var failure: Error?
            let images = Tensor(uninitializedShape: [count, 3, 32, 32]) { out in
                for i in 0..<count where failure == nil {
                    do { try reader.read(i, into: UnsafeMutableBufferPointer(rebasing: out[(i * pixelsPerImage)..<((i + 1) * pixelsPerImage)])) } catch {
                        failure = error
                        out.update(repeating: 0)
                    }
                }
            }
            if let failure { throw failure }
            return Dataset(name: name, images: images, labels: labels, classes: classes, classSimilarity: classSimilarity)
        }

        /// The images streamed: read per batch from the files held open, at most `cacheBytes`
        /// of them kept decoded.
        public func stream(name: String, cacheBytes: Int, limits: ReadLimits = .current) throws -> Dataset {
            let streamed = StreamedImages(reader: try CIFARRecordReader(self, limits: limits), cache: ImageCache(capacityBytes: cacheBytes))
            return Dataset(name: name, streamed: streamed, labels: labels, classes: classes, classSimilarity: classSimilarity)
        }
    }

    /// Lists `part` of `folder` and reads every record's label bytes (a megabyte of records at
    /// a time, never the whole file); see `load`.
    public static func listing(folder: String, part: Part, labels level: Labels = .fine, limits: ReadLimits = .current) throws -> Listing {
        let names = try ImageFolder.list(folder).filter { !$0.isDirectory }.map(\.name)
        let isTen = names.contains("test_batch.bin") || names.contains { $0.hasPrefix("data_batch_") && $0.hasSuffix(".bin") }
        let isHundred = names.contains("train.bin") || names.contains("test.bin")
        guard isTen != isHundred else {
            throw DataError.format(path: folder, reason: isTen
                ? "holds both CIFAR-10 (data_batch_*.bin, test_batch.bin) and CIFAR-100 (train.bin, test.bin) files"
                : "no CIFAR files: expected data_batch_*.bin and test_batch.bin (CIFAR-10) or train.bin and test.bin (CIFAR-100)")
        }
        if isTen && level == .coarse { throw DataError.invalidArgument("coarse labels exist only in CIFAR-100; \(folder) holds CIFAR-10") }
        let files = isTen
            ? (part == .train ? names.filter { $0.hasPrefix("data_batch_") && $0.hasSuffix(".bin") } : ["test_batch.bin"])
            : [part == .train ? "train.bin" : "test.bin"]
        guard !files.isEmpty else { throw DataError.io(path: folder + "/data_batch_1.bin", reason: "missing: no data_batch_*.bin (the train part of CIFAR-10)") }
        let record = (isTen ? 1 : 2) + pixelsPerImage
        let fineNames = try classNames(folder + "/" + (isTen ? "batches.meta.txt" : "fine_label_names.txt"), present: names,
                                       default: isTen ? cifar10Classes : (0..<100).map(String.init), limits: limits)
        let coarseNames = isTen ? [] : try classNames(folder + "/coarse_label_names.txt", present: names, default: (0..<20).map(String.init), limits: limits)
        let classes = level == .coarse ? coarseNames : fineNames

        var labels: [Int] = []
        var records: [Int] = []
        var superclass = [Int?](repeating: nil, count: fineNames.count)
        var open = limits
        open.maxBytes = Int.max   // the pixels are not read here: the caller bounds what it decodes
        for file in files {
            let path = folder + "/" + file
            guard names.contains(file) else { throw DataError.io(path: path, reason: "missing (the \(part.rawValue) part of \(isTen ? "CIFAR-10" : "CIFAR-100"))") }
            let (fd, size): (Int32, Int)
            do { (fd, size) = try ClientFile.openRegular(path, limits: open) } catch FileReadError.io(_, let reason) {
                throw DataError.io(path: path, reason: reason)
            }
            defer { close(fd) }
            guard size > 0, size % record == 0 else {
                throw DataError.format(path: path, reason: "\(size) bytes is not a whole number of \(record)-byte \(isTen ? "CIFAR-10" : "CIFAR-100") records")
            }
            records.append(size / record)
            let perBlock = max(1, (1 << 20) / record)
            var block = [UInt8](repeating: 0, count: perBlock * record)
            for first in stride(from: 0, to: size / record, by: perBlock) {
                if limits.shouldStop() { throw FileReadError.cancelled(path: path) }
                let n = min(perBlock, size / record - first)
                try FileRange.read(fd, into: &block, count: n * record, at: first * record, path: path)
                for r in first..<(first + n) {
                    let at = (r - first) * record
                    let fine = Int(block[at + record - pixelsPerImage - 1]), coarse = isTen ? nil : Int(block[at])
                    let label = level == .coarse ? coarse! : fine
                    guard label < classes.count else {
                        throw DataError.format(path: path, reason: "record \(r): \(level.rawValue) label \(label) is outside 0...\(classes.count - 1)")
                    }
                    if let coarse, coarse >= coarseNames.count {
                        throw DataError.format(path: path, reason: "record \(r): coarse label \(coarse) is outside 0...\(coarseNames.count - 1)")
                    }
                    if let coarse, fine < superclass.count {
                        guard superclass[fine] == nil || superclass[fine] == coarse else {
                            throw DataError.format(path: path, reason: "record \(r): fine label \(fine) has coarse label \(coarse), elsewhere \(superclass[fine].map(String.init) ?? "none")")
                        }
                        superclass[fine] = coarse
                    }
                    labels.append(label)
                }
            }
        }
        return Listing(files: files.map { folder + "/" + $0 }, records: records, recordBytes: record, labels: labels, classes: classes,
                       classSimilarity: isTen || level == .coarse ? nil : ClassHierarchy.similarity(superclass: superclass))
    }

    /// The names file's non-empty lines when `present` lists it (it must then name exactly as
    /// many classes as `fallback`), else `fallback`.
    private static func classNames(_ path: String, present: [String], default fallback: [String], limits: ReadLimits) throws -> [String] {
        let file = String(path.split(separator: "/").last ?? "")
        guard present.contains(file) else { return fallback }
        let names = try ImageNetValidation.lines(path, limits: limits).map(\.text)
        guard names.count == fallback.count else {
            throw DataError.format(path: path, reason: "\(names.count) class names, expected \(fallback.count)")
        }
        return names
    }
}

/// A CIFAR part's images read record by record from its files, held open from the listing
/// (the `cifar` kind's streamed form, and how the in-memory load reads them too).
///
/// Why pread of one record: a record's pixels are already [3, 32, 32] at a fixed offset, so
/// an image costs one 3 KB read and the daemon's memory holds no more of the file than that.
public final class CIFARRecordReader: ImageReader {
    public let listing: CIFAR.Listing
    public let imageShape = [3, 32, 32]
    private let fds: [Int32]
    /// The first image of each file.
    private let starts: [Int]

    public init(_ listing: CIFAR.Listing, limits: ReadLimits = .current) throws {
        var open = limits
        open.maxBytes = Int.max
        var fds: [Int32] = []
        for (path, records) in zip(listing.files, listing.records) {
            do {
                let (fd, size) = try ClientFile.openRegular(path, limits: open)
                fds.append(fd)
                guard size == records * listing.recordBytes else {
                    fds.forEach { close($0) }
                    throw DataError.format(path: path, reason: "changed since it was listed (\(size) bytes, \(records * listing.recordBytes) were)")
                }
            } catch FileReadError.io(_, let reason) {
                fds.forEach { close($0) }
                throw DataError.io(path: path, reason: reason)
            }
        }
        self.listing = listing
        self.fds = fds
        var starts: [Int] = [], total = 0
        for r in listing.records { starts.append(total); total += r }
        self.starts = starts
    }

    deinit { fds.forEach { close($0) } }

    public var count: Int { listing.count }

    public func read(_ index: Int, into out: UnsafeMutableBufferPointer<Float>) throws {
        let file = (starts.lastIndex { $0 <= index })!
        let record = index - starts[file]
        let pixels = CIFAR.pixelsPerImage
        var bytes = [UInt8](repeating: 0, count: pixels)
        try FileRange.read(fds[file], into: &bytes, count: pixels,
                               at: record * listing.recordBytes + listing.recordBytes - pixels, path: listing.files[file])
        for k in 0..<pixels { out[k] = Float(bytes[k]) / 255 }
    }
}
