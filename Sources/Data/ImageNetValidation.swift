/// `ImageNetValidation`: the layout ImageNet's validation set ships in: one flat folder of
/// images, a labels file and a class-names file.
import Files
import TensorEngine

/// Why its own kind: the images carry no class in their path, so the labels come from a file
/// that either lists one label per image in file order (ILSVRC2012's
/// `ILSVRC2012_validation_ground_truth.txt`, 1-based: `labelBase` 1) or pairs each file with
/// its label (`ILSVRC2012_val_00000001.JPEG n01751748`, or comma-separated).
///
/// - Images: the folder's image files (`ImageFolder`'s extensions and order: sorted by UTF-8
///   bytes, "." names skipped).
/// - Class-names file: one class per non-empty line; the whole line (trimmed) is the class
///   name, its first word the class id (`n01440764 tench, Tinca tinca` has id `n01440764`).
/// - Labels file: non-empty lines of one field (a label, for the images in order; as many
///   lines as images) or two (file name, label), separated by white space or one comma. A
///   label is an integer (class index + `labelBase`) or a class id.
public enum ImageNetValidation {
    public static func load(folder: String, labels labelsPath: String, classNames classesPath: String, labelBase: Int = 0,
                            transform: ImageTransform, name: String, limits: ReadLimits = .current) throws -> Dataset {
        try listing(folder: folder, labels: labelsPath, classNames: classesPath, labelBase: labelBase, limits: limits)
            .load(transform: transform, name: name, limits: limits)
    }

    /// The files, labels and classes (see the type) without decoding an image.
    public static func listing(folder: String, labels labelsPath: String, classNames classesPath: String, labelBase: Int = 0,
                               limits: ReadLimits = .current) throws -> ImageFolder.Listing {
        let classLines = try lines(classesPath, limits: limits)
        guard !classLines.isEmpty else { throw DataError.format(path: classesPath, reason: "no class names (one per line expected)") }
        let classOfId = classLines.enumerated().reduce(into: [String: Int]()) { ids, line in
            let id = String(line.element.text.split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? "")
            if ids[id] == nil { ids[id] = line.offset }
        }
        let files = try ImageFolder.list(folder).filter { !$0.isDirectory && ImageFolder.isImage($0.name) }.map(\.name)
        guard !files.isEmpty else { throw DataError.format(path: folder, reason: "no .png, .jpg, .jpeg or .bmp images in it") }

        let classes = Classes(count: classLines.count, ofId: classOfId, base: labelBase, path: classesPath)
        let labelLines = try lines(labelsPath, limits: limits)
        var labels: [Int]
        let fields = labelLines.map { $0.text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," }) }
        if fields.allSatisfy({ $0.count == 1 }) {
            guard labelLines.count == files.count else {
                throw DataError.format(path: labelsPath, reason: "\(labelLines.count) labels for the \(files.count) images of \(folder)")
            }
            labels = []
            labels.reserveCapacity(files.count)
            for (f, line) in zip(fields, labelLines) { labels.append(try classes.label(f[0], line: line.number, labelsPath: labelsPath)) }
        } else {
            var byFile: [String: Int] = [:]
            for (f, line) in zip(fields, labelLines) {
                guard f.count == 2 else {
                    throw DataError.format(path: labelsPath, reason: "line \(line.number): expected \"<file> <label>\" (as the other lines), found \(f.count) fields")
                }
                byFile[String(f[0])] = try classes.label(f[1], line: line.number, labelsPath: labelsPath)
            }
            labels = []
            labels.reserveCapacity(files.count)
            for file in files {
                guard let l = byFile[file] else { throw DataError.format(path: labelsPath, reason: "no label for image \"\(file)\" of \(folder)") }
                labels.append(l)
            }
            if byFile.count > files.count, let extra = byFile.keys.sorted().first(where: { !files.contains($0) }) {
                throw DataError.format(path: labelsPath, reason: "labels image \"\(extra)\", which is not in \(folder)")
            }
        }
        return ImageFolder.Listing(files: files.map { folder + "/" + $0 }, labels: labels, classes: classLines.map(\.text), what: folder)
    }

    /// The classes labels can name. (A value, not variables a nested function captures: a
    /// dictionary captured so leaked when the labels file was refused, as the fuzzer found.)
    private struct Classes {
        let count: Int
        let ofId: [String: Int]
        let base: Int
        let path: String

        /// A label token's class: an integer (class index + `base`) or a class id.
        func label(_ token: Substring, line: Int, labelsPath: String) throws -> Int {
            if let n = Int(token) {
                let k = n - base
                guard k >= 0, k < count else {
                    throw DataError.format(path: labelsPath, reason: "line \(line): label \(n) is outside \(base)...\(count - 1 + base) (\(count) classes in \(path), labelBase \(base))")
                }
                return k
            }
            guard let k = ofId[String(token)] else {
                throw DataError.format(path: labelsPath, reason: "line \(line): \"\(token)\" is neither a class index nor a class id of \(path)")
            }
            return k
        }
    }

    /// The non-empty lines of a text file (trimmed), with their 1-based line numbers.
    static func lines(_ path: String, limits: ReadLimits) throws -> [(number: Int, text: String)] {
        let bytes: [UInt8]
        do { bytes = try ClientFile.read(path, limits: limits) } catch FileReadError.io(_, let reason) {
            throw DataError.io(path: path, reason: reason)
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw DataError.format(path: path, reason: "not UTF-8 text") }
        return text.split(separator: "\n", omittingEmptySubsequences: false).enumerated().compactMap { i, line in
            let trimmed = line.trimmed(["\t", " ", "\r"])
            return trimmed.isEmpty ? nil : (i + 1, trimmed)
        }
    }
}

extension Substring {
    /// The text without the given characters at either end.
    func trimmed(_ set: Set<Character>) -> String {
        var s = self
        while let c = s.first, set.contains(c) { s.removeFirst() }
        while let c = s.last, set.contains(c) { s.removeLast() }
        return String(s)
    }
}
