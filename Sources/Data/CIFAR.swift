/// `CIFAR`: the binary versions of CIFAR-10 and CIFAR-100 as extracted
/// (`cifar-10-batches-bin/`, `cifar-100-binary/`).
import Files
import TensorEngine

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
        var contents: [(path: String, bytes: [UInt8])] = []
        var count = 0
        for file in files {
            let path = folder + "/" + file
            guard names.contains(file) else { throw DataError.io(path: path, reason: "missing (the \(part.rawValue) part of \(isTen ? "CIFAR-10" : "CIFAR-100"))") }
            let bytes: [UInt8]
            do { bytes = try ClientFile.read(path, limits: limits) } catch FileReadError.io(_, let reason) {
                throw DataError.io(path: path, reason: reason)
            }
            guard !bytes.isEmpty, bytes.count % record == 0 else {
                throw DataError.format(path: path, reason: "\(bytes.count) bytes is not a whole number of \(record)-byte \(isTen ? "CIFAR-10" : "CIFAR-100") records")
            }
            count += bytes.count / record
            guard count <= limits.maxBytes / (pixelsPerImage * 4) else { throw FileReadError.tooLarge(path: folder, limit: limits.maxBytes) }
            contents.append((path, bytes))
        }
        let fineNames = try classNames(folder + "/" + (isTen ? "batches.meta.txt" : "fine_label_names.txt"), present: names,
                                       default: isTen ? cifar10Classes : (0..<100).map(String.init), limits: limits)
        let coarseNames = isTen ? [] : try classNames(folder + "/coarse_label_names.txt", present: names, default: (0..<20).map(String.init), limits: limits)
        let classes = level == .coarse ? coarseNames : fineNames

        var labels = [Int](repeating: 0, count: count)
        var superclass = [Int?](repeating: nil, count: fineNames.count)
        var table = [Float](repeating: 0, count: 256)
        for v in 0..<256 { table[v] = Float(v) / 255 }
        var failure: DataError?
        let images = Tensor(uninitializedShape: [count, 3, 32, 32]) { out in
            var i = 0
            for (path, bytes) in contents {
                for r in 0..<bytes.count / record {
                    let at = r * record
                    let fine = Int(bytes[at + record - pixelsPerImage - 1]), coarse = isTen ? nil : Int(bytes[at])
                    let label = level == .coarse ? coarse! : fine
                    guard label < classes.count else {
                        failure = .format(path: path, reason: "record \(r): \(level.rawValue) label \(label) is outside 0...\(classes.count - 1)")
                        return
                    }
                    if let coarse, coarse >= coarseNames.count {
                        failure = .format(path: path, reason: "record \(r): coarse label \(coarse) is outside 0...\(coarseNames.count - 1)")
                        return
                    }
                    if let coarse, fine < superclass.count {
                        guard superclass[fine] == nil || superclass[fine] == coarse else {
                            failure = .format(path: path, reason: "record \(r): fine label \(fine) has coarse label \(coarse), elsewhere \(superclass[fine].map(String.init) ?? "none")")
                            return
                        }
                        superclass[fine] = coarse
                    }
                    labels[i] = label
                    let pixels = at + record - pixelsPerImage
                    for k in 0..<pixelsPerImage { out[i * pixelsPerImage + k] = table[Int(bytes[pixels + k])] }
                    i += 1
                }
            }
        }
        if let failure { throw failure }
        return Dataset(name: name, images: images, labels: labels, classes: classes,
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
