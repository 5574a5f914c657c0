/// `BrodenConcepts`: a concept set in the layout of Broden (Bau et al. 2017, the Network
/// Dissection data: `broden1_224`, `broden1_227`), read as images plus bit-packed concept masks.
import CStb
import Files
import TensorEngine
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why its own loader: Broden describes each image's concepts through CSV files naming label-map
/// PNGs and whole-image labels, not through folders, and its masks have their own resolution.
///
/// The layout (`root/`):
/// - `label.csv`: `number,name,category,...`, one row per concept. `number` is the global label
///   (1...65535; 0 means "no label" and its row, if any, is skipped); `category` lists the
///   categories it occurs in with counts, `material(36);object(3)`, or bare names `object`.
/// - `index.csv`: `image,split,ih,iw,sh,sw,<category>...`, one row per image: the image file,
///   the image's size (ih × iw) and its masks' size (sh × sw), then per category a `;`-separated
///   list of entries: `file.png`, a label map whose pixel value is the label number, red +
///   256 · green (grey PNGs: the grey value); `N`, label N on the whole image (Broden's scenes
///   and textures); or `N=file.png`, a binary mask of label N (pixels with a non-zero colour
///   channel). Every other column (`split` included) is ignored; `split` is optional.
/// - `images/`: every file the index names, by paths relative to it.
///
/// Concepts are the labels of label.csv that list a category read (all index categories, or
/// `categories`), in label-number order; each is reported under its primary category: with
/// NetDissect's `c_<category>.csv` files beside (for every category read), the category read
/// where its coverage is largest (NetDissect's rule; the later category on ties), else, and for
/// a label no such file lists, the category read with the largest count in label.csv (the
/// first listed on ties). A label number in a read entry that is
/// not such a concept is an error, as are sizes other than ih × iw and sh × sw.
///
/// Geometry: images go through `transform` (resize, centre crop). The masks lie on a grid of
/// mh × mw pixels over the cropped image, mh = min(H, round(H · sh / rh)) for the first row
/// (rh: the image's height after resizing; broden1_224 without resize: 112 × 112), and each mask
/// pixel takes the label at its centre (nearest neighbour) in the row's own sh × sw map.
public enum BrodenConcepts {
    /// index.csv's columns that are not categories.
    public static let metaColumns: Set<String> = ["image", "split", "ih", "iw", "sh", "sw"]
    /// The class name of every image (a concept set has no classes).
    public static let className = "none"

    /// Reads the set at `root`: the first `count` rows of index.csv (all without), the category
    /// columns `categories` (all without; others are `DataError.invalidArgument`).
    public static func load(root: String, transform: ImageTransform, categories wanted: [String]? = nil, count: Int? = nil,
                            name: String, limits: ReadLimits = .current) throws -> Dataset {
        let index = try CSVTable.read(root + "/index.csv", limits: limits)
        let columns = try Columns(index, wanted: wanted)
        let labels = try CSVTable.read(root + "/label.csv", limits: limits)
        let categories = columns.categories.map { index.header[$0] }
        let concepts = try Concepts(labels, categories: categories, coverage: try coverage(root: root, categories: categories, limits: limits))
        let rows = try index.rows.prefix(count ?? index.rows.count).map { try Row($0, index, columns) }
        guard let first = rows.first else { throw DataError.format(path: index.path, reason: "no images: expected a row per image after the header") }
        let (h, w) = (transform.shape[1], transform.shape[2])
        let resized = transform.resized(height: first.ih, width: first.iw)
        let grid = (height: min(h, max(1, Int((Double(h) * Double(first.sh) / Double(resized.height)).rounded()))),
                    width: min(w, max(1, Int((Double(w) * Double(first.sw) / Double(resized.width)).rounded()))))

        let per = transform.valuesPerImage
        let (values, overflow) = per.multipliedReportingOverflow(by: rows.count)
        guard !overflow, values <= limits.maxBytes / 4 else { throw FileReadError.tooLarge(path: index.path, limit: limits.maxBytes) }
        var masks = ConceptMasks(names: concepts.names, kinds: concepts.kinds, height: grid.height, width: grid.width)
        var failure: Error?
        let images = Tensor(uninitializedShape: [rows.count] + transform.shape) { out in
            for (i, row) in rows.enumerated() {
                do {
                    if limits.shouldStop() { throw FileReadError.cancelled(path: index.path) }
                    let file = root + "/images/" + row.image
                    let picture = try transform.decode(read(file, row, columns.image, index, limits), path: file)
                    guard picture.height == row.ih, picture.width == row.iw else {
                        throw index.error(row.row, columns.ih, "images/\(row.image) is \(picture.width)x\(picture.height) pixels, but iw, ih say \(row.iw)x\(row.ih)")
                    }
                    try transform.apply(picture, path: file, into: UnsafeMutableBufferPointer(rebasing: out[i * per..<(i + 1) * per]))
                    masks.append(try imageMasks(row, grid: grid, transform: transform, root: root, index: index, columns: columns,
                                                concepts: concepts, limits: limits))
                } catch {
                    failure = error
                    for k in i * per..<values { out[k] = 0 }
                    return
                }
            }
        }
        if let failure { throw failure }
        var data = Dataset(name: name, images: images, labels: Array(repeating: 0, count: rows.count), classes: [className], concepts: masks)
        data.hasClassLabels = false
        return data
    }

    /// Where index.csv's columns are.
    struct Columns {
        var image: Int, ih: Int, iw: Int, sh: Int, sw: Int
        /// The category columns read, in header order.
        var categories: [Int]

        init(_ index: CSVTable, wanted: [String]?) throws {
            (image, ih, iw, sh, sw) = (try index.column("image"), try index.column("ih"), try index.column("iw"), try index.column("sh"), try index.column("sw"))
            let all = index.header.indices.filter { !BrodenConcepts.metaColumns.contains(index.header[$0]) }
            guard let wanted else {
                categories = all
                return
            }
            let names = all.map { index.header[$0] }
            for c in wanted where !names.contains(c) {
                throw DataError.invalidArgument("\"\(c)\" is not a category column of \(index.path) (it has \(names.joined(separator: ", ")))")
            }
            categories = all.filter { wanted.contains(index.header[$0]) }
        }
    }

    /// The concepts: label.csv's labels of the categories read.
    struct Concepts {
        var names: [String] = [], kinds: [String] = []
        /// Label number → concept index, -1 for none.
        var index = [Int32](repeating: -1, count: 1 << 16)

        /// `coverage`: per category read, label number → its pixel coverage (NetDissect's
        /// c_*.csv); nil: label.csv's counts choose each concept's category.
        init(_ table: CSVTable, categories: [String], coverage: [String: [Int: Double]]? = nil) throws {
            let (numberColumn, nameColumn, categoryColumn) = (try table.column("number"), try table.column("name"), try table.column("category"))
            var found: [(number: Int, name: String, kind: String)] = []
            var seen = Set<Int>()
            for row in table.rows {
                let text = row.fields[numberColumn].trimmingSpaces
                guard let number = Int(text), (0..<(1 << 16)).contains(number) else {
                    throw table.error(row, numberColumn, "expected a label number in 0...65535, got \"\(text)\"")
                }
                guard seen.insert(number).inserted else { throw table.error(row, numberColumn, "label \(number) is listed twice") }
                if number == 0 { continue }
                let name = row.fields[nameColumn].trimmingSpaces
                guard !name.isEmpty else { throw table.error(row, nameColumn, "empty: every label needs a name") }
                var best: (kind: String, count: Int)?
                for item in row.fields[categoryColumn].split(separator: ";").map({ String($0).trimmingSpaces }) where !item.isEmpty {
                    var kind = item, n = 0
                    if let open = item.firstIndex(of: "("), item.hasSuffix(")") {
                        kind = String(item[..<open]).trimmingSpaces
                        guard let c = Int(item[item.index(after: open)..<item.index(before: item.endIndex)]), c >= 0 else {
                            throw table.error(row, categoryColumn, "\"\(item)\": expected category(count) with a whole count")
                        }
                        n = c
                    }
                    guard !kind.isEmpty, !kind.contains("(") && !kind.contains(")") else {
                        throw table.error(row, categoryColumn, "\"\(item)\": expected category(count) or a category name")
                    }
                    if categories.contains(kind), n > best?.count ?? -1 { best = (kind, n) }
                }
                if let best { found.append((number, name, BrodenConcepts.primary(number, categories: categories, coverage: coverage) ?? best.kind)) }
            }
            for f in found.sorted(by: { $0.number < $1.number }) {
                index[f.number] = Int32(names.count)
                names.append(f.name)
                kinds.append(f.kind)
            }
            guard !names.isEmpty else {
                throw DataError.format(path: table.path, reason: "no label lists any of the categories read (\(categories.joined(separator: ", ")))")
            }
        }
    }

    /// The category a label is reported under by NetDissect's rule: of the categories read
    /// whose c_*.csv lists it, the one where it covers most pixels (the later one in index
    /// order on ties, as NetDissect's `primary_categories_per_index`); nil without coverage
    /// files or when none lists it.
    static func primary(_ number: Int, categories: [String], coverage: [String: [Int: Double]]?) -> String? {
        guard let coverage else { return nil }
        var best: (kind: String, coverage: Double)?
        for c in categories {
            if let v = coverage[c]?[number], v >= best?.coverage ?? -1 { best = (c, v) }
        }
        return best?.kind
    }

    /// NetDissect's per-category label files, `c_<category>.csv` (`code,number,name,frequency,
    /// coverage`: the category's dense code of each label, its global number, how many images
    /// show it and its pixel coverage in whole images), read for every category read when all
    /// of them have one; nil when any is missing (label.csv's counts decide then).
    static func coverage(root: String, categories: [String], limits: ReadLimits) throws -> [String: [Int: Double]]? {
        guard categories.allSatisfy({ access(root + "/c_\($0).csv", F_OK) == 0 }) else {
            return nil
        }
        var out: [String: [Int: Double]] = [:]
        for c in categories {
            let table = try CSVTable.read(root + "/c_\(c).csv", limits: limits)
            let (numberColumn, coverageColumn) = (try table.column("number"), try table.column("coverage"))
            var byNumber: [Int: Double] = [:]
            for row in table.rows {
                let text = row.fields[numberColumn].trimmingSpaces
                guard let number = Int(text), (0..<(1 << 16)).contains(number) else {
                    throw table.error(row, numberColumn, "expected a label number in 0...65535, got \"\(text)\"")
                }
                let value = row.fields[coverageColumn].trimmingSpaces
                guard let v = Double(value), v.isFinite, v >= 0 else {
                    throw table.error(row, coverageColumn, "expected a non-negative number (the label's pixel coverage), got \"\(value)\"")
                }
                guard byNumber.updateValue(v, forKey: number) == nil else { throw table.error(row, numberColumn, "label \(number) is listed twice") }
            }
            out[c] = byNumber
        }
        return out
    }

    /// One index row's values.
    struct Row {
        var row: CSVTable.Row
        var image: String
        var ih: Int, iw: Int, sh: Int, sw: Int

        init(_ row: CSVTable.Row, _ index: CSVTable, _ c: Columns) throws {
            self.row = row
            image = try BrodenConcepts.relativePath(row.fields[c.image].trimmingSpaces, row, c.image, index)
            func side(_ k: Int) throws -> Int {
                let text = row.fields[k].trimmingSpaces
                guard let v = Int(text), (1...(1 << 14)).contains(v) else {
                    throw index.error(row, k, "expected a whole number of pixels in 1...16384, got \"\(text)\"")
                }
                return v
            }
            (ih, iw, sh, sw) = (try side(c.ih), try side(c.iw), try side(c.sh), try side(c.sw))
        }
    }

    /// `text` as a path under images/: not empty, not absolute, without `..`.
    static func relativePath(_ text: String, _ row: CSVTable.Row, _ column: Int, _ index: CSVTable) throws -> String {
        guard !text.isEmpty else { throw index.error(row, column, "empty: expected a file under images/") }
        guard !text.hasPrefix("/"), !text.split(separator: "/").contains("..") else {
            throw index.error(row, column, "\"\(text)\": expected a path relative to images/, without \"..\"")
        }
        return text
    }

    static func read(_ file: String, _ row: Row, _ column: Int, _ index: CSVTable, _ limits: ReadLimits) throws -> [UInt8] {
        do { return try ClientFile.read(file, limits: limits) } catch FileReadError.io(_, let reason) {
            throw index.error(row.row, column, "cannot read \(file) (\(reason))")
        }
    }

    /// Row `row`'s masks on the grid.
    static func imageMasks(_ row: Row, grid: (height: Int, width: Int), transform: ImageTransform, root: String, index: CSVTable,
                           columns: Columns, concepts: Concepts, limits: ReadLimits) throws -> ConceptMasks.ImageMasks {
        var masks = ConceptMasks.ImageMasks(concepts: concepts.names.count, pixels: grid.height * grid.width)
        // The row's sh x sw pixel under each grid pixel's centre.
        let (h, w) = (transform.shape[1], transform.shape[2])
        let resized = transform.resized(height: row.ih, width: row.iw)
        let top = (resized.height - h) / 2, left = (resized.width - w) / 2
        func source(_ o: Int, grid: Int, crop: Int, offset: Int, resized: Int, mask: Int) -> Int {
            let at = (Double(offset) + (Double(o) + 0.5) * Double(crop) / Double(grid)) * Double(mask) / Double(resized)
            return min(max(Int(at.rounded(.down)), 0), mask - 1)
        }
        let ys = (0..<grid.height).map { source($0, grid: grid.height, crop: h, offset: top, resized: resized.height, mask: row.sh) }
        let xs = (0..<grid.width).map { source($0, grid: grid.width, crop: w, offset: left, resized: resized.width, mask: row.sw) }
        func concept(_ number: Int, _ column: Int, _ what: String) throws -> Int {
            let c = number < concepts.index.count ? Int(concepts.index[number]) : -1
            guard c >= 0 else {
                throw index.error(row.row, column, "\(what) label \(number), which label.csv does not list under a category read")
            }
            return c
        }
        for column in columns.categories {
            for entry in row.row.fields[column].split(separator: ";").map({ String($0).trimmingSpaces }) where !entry.isEmpty {
                if let number = Int(entry) {
                    masks.setWhole(concept: try concept(number, column, "\"\(entry)\" is"))
                    continue
                }
                var file = entry, binaryOf: Int?
                if let eq = entry.firstIndex(of: "="), let n = Int(entry[..<eq]) {
                    (file, binaryOf) = (String(entry[entry.index(after: eq)...]), try concept(n, column, "\"\(entry)\" names"))
                }
                file = try relativePath(file, row.row, column, index)
                let plane = try labelPlane(read(root + "/images/" + file, row, column, index, limits), binary: binaryOf != nil,
                                           what: "images/\(file)", row: row, column: column, index: index)
                for (gy, sy) in ys.enumerated() {
                    for (gx, sx) in xs.enumerated() {
                        let v = Int(plane[sy * row.sw + sx])
                        guard v != 0 else { continue }
                        masks.set(concept: try binaryOf ?? concept(v, column, "images/\(file) holds"), pixel: gy * grid.width + gx)
                    }
                }
            }
        }
        return masks
    }

    /// A label map's label numbers (red + 256 · green; grey: the value), or with `binary` 1 where
    /// any colour channel is not zero; it must be sh x sw.
    static func labelPlane(_ bytes: [UInt8], binary: Bool, what: String, row: Row, column: Int, index: CSVTable) throws -> [UInt16] {
        guard bytes.count < Int(Int32.max) else { throw index.error(row.row, column, "\(what) is too large for stb_image (2 GiB)") }
        var w: Int32 = 0, h: Int32 = 0, c: Int32 = 0
        guard let pixels = bytes.withUnsafeBufferPointer({ stbi_load_from_memory($0.baseAddress, Int32($0.count), &w, &h, &c, 0) }) else {
            let reason = stbi_failure_reason().map { String(cString: $0) } ?? "unknown"
            throw index.error(row.row, column, "\(what) is not a readable image (\(reason))")
        }
        defer { stbi_image_free(pixels) }
        guard Int(h) == row.sh, Int(w) == row.sw else {
            throw index.error(row.row, column, "\(what) is \(w)x\(h) pixels, but sw, sh say \(row.sw)x\(row.sh)")
        }
        let channels = Int(c), count = Int(w) * Int(h)
        return (0..<count).map { p -> UInt16 in
            let px = pixels + p * channels
            if channels < 3 { return binary ? (px[0] == 0 ? 0 : 1) : UInt16(px[0]) }
            if binary { return px[0] | px[1] | px[2] == 0 ? 0 : 1 }
            return UInt16(px[0]) | UInt16(px[1]) << 8
        }
    }
}
