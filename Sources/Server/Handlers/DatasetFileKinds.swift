import Data
import Files
import Foundation
import JSON
import Protocol

/// The dataset/load kinds that read folders and archives (image folders, the ImageNet
/// validation layout, CIFAR, NPZ), and which params each kind takes.
///
/// Why apart from DatasetHandlers: each kind's params are resolved to the Data loader's
/// arguments here, and the table of which params a kind uses refuses the rest by name.
extension AdvLensServer {
    /// The optional params each kind uses (`name`, `kind` and `split` are everyone's).
    static func paramsUsed(by kind: DatasetLoad.Kind) -> Set<String> {
        switch kind {
        case .mnistCSV: return ["path", "classes", "hierarchy"]
        case .mnistIDX: return ["images", "labels", "classes", "hierarchy"]
        case .npy: return ["images", "labels", "layout", "classes", "hierarchy"]
        case .npz: return ["path", "images", "labels", "layout", "classes", "hierarchy"]
        case .imagefolder: return ["path", "classes", "model", "shape", "resize", "hierarchy"]
        case .imagenetVal: return ["path", "labels", "classesFile", "labelBase", "model", "shape", "resize", "hierarchy"]
        case .cifar: return ["path", "part", "labelSet", "classes", "hierarchy"]
        case .broden: return ["path", "categories", "count", "model", "shape", "resize"]
        case .shapes: return ["count", "seed", "masks"]
        }
    }

    /// Refuses a param the kind does not use, saying which kinds do.
    static func checkParamsUsed(_ p: DatasetLoad.Params) throws {
        let present: [(String, Any?)] = [("path", p.path), ("images", p.images), ("labels", p.labels), ("classes", p.classes),
                                         ("count", p.count), ("seed", p.seed), ("masks", p.masks), ("model", p.model),
                                         ("shape", p.shape), ("resize", p.resize), ("classesFile", p.classesFile),
                                         ("labelBase", p.labelBase), ("part", p.part), ("labelSet", p.labelSet), ("layout", p.layout),
                                         ("hierarchy", p.hierarchy), ("categories", p.categories)]
        let used = paramsUsed(by: p.kind)
        for (field, value) in present where value != nil && !used.contains(field) {
            if p.kind == .shapes && ["path", "images", "labels"].contains(field) {
                throw ServerError.invalidParams("params.\(field): not used by kind \"shapes\" (it is generated)")
            }
            if p.kind == .shapes && field == "classes" { throw ServerError.invalidParams("params.classes: not used by kind \"shapes\"") }
            let kinds = DatasetLoad.Kind.allCases.filter { paramsUsed(by: $0).contains(field) }.map { "\"\($0.rawValue)\"" }
            throw ServerError.invalidParams("params.\(field): only for kind\(kinds.count == 1 ? "" : "s") \(kinds.joined(separator: ", "))")
        }
    }

    /// Loads kinds npz, npy, imagefolder, imagenet-val, cifar and broden; nil for the other kinds.
    /// The image kinds and npy stream a set whose decoded images exceed what the memory budget
    /// leaves (`ReadLimits.current.maxBytes` here: `withinMemoryBudget` set it) instead of
    /// refusing it; see `images(_:transform:)`.
    func loadFileKind(_ p: DatasetLoad.Params, paths: PathResolver) throws -> (Dataset, String)? {
        func required(_ value: String?, _ field: String) throws -> String {
            guard let value else { throw ServerError.invalidParams("params.\(field): required for kind \"\(p.kind.rawValue)\"") }
            return value
        }
        func file(_ value: String?, _ field: String) throws -> String {
            try paths.resolveFile(required(value, field), field: "params.\(field)")
        }
        func folder(_ value: String?, _ field: String) throws -> String {
            let resolved = try paths.resolve(required(value, field), field: "params.\(field)")
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: resolved, isDirectory: &isDirectory), !isDirectory.boolValue {
                throw ServerError.invalidParams("params.\(field): \"\(value!)\" is \(ClientFile.problem(at: resolved) ?? "a file"), not a directory")
            }
            return resolved
        }
        switch p.kind {
        case .npz:
            guard let layout = p.layout else { throw ServerError.invalidParams("params.layout: required for kind \"npz\" (\"NCHW\" or \"NHWC\")") }
            let path = try file(p.path, "path")
            // Over what the budget leaves: streamed, when its images are stored uncompressed.
            if let streamed = try NPZ.stream(path: path, images: p.images ?? "images", labels: p.labels ?? "labels",
                                             layout: layout == .nchw ? .nchw : .nhwc, name: p.name, budget: ReadLimits.current.maxBytes,
                                             cacheBytes: MemoryBudget.streamCacheBytes(headroom: datasetHeadroom(p))) {
                return (streamed, path)
            }
            let data = try NPZ.load(path: path, images: p.images ?? "images", labels: p.labels ?? "labels",
                                    layout: layout == .nchw ? .nchw : .nhwc, name: p.name)
            return (data, path)
        case .imagefolder:
            let root = try folder(p.path, "path")
            if let classes = p.classes, Set(classes).count != classes.count {
                throw ServerError.invalidParams("params.classes: names a class twice")
            }
            let transform = try imageTransform(p)   // params checked before the folder is listed
            return (try images(ImageFolder.listing(root: root, classes: p.classes), transform: transform, p), root)
        case .imagenetVal:
            let images = try folder(p.path, "path"), labels = try file(p.labels, "labels"), classes = try file(p.classesFile, "classesFile")
            let base = p.labelBase ?? 0
            guard base == 0 || base == 1 else { throw ServerError.invalidParams("params.labelBase: 0 or 1, got \(base)") }
            let transform = try imageTransform(p)
            let listing = try ImageNetValidation.listing(folder: images, labels: labels, classNames: classes, labelBase: base)
            let data = try self.images(listing, transform: transform, p)
            return (data, images + " + " + labels)
        case .cifar:
            let root = try folder(p.path, "path")
            guard let part = p.part else { throw ServerError.invalidParams("params.part: required for kind \"cifar\" (\"train\" or \"test\")") }
            let listing: CIFAR.Listing
            do {
                listing = try CIFAR.listing(folder: root, part: part == .train ? .train : .test, labels: p.labelSet == .coarse ? .coarse : .fine)
            } catch DataError.invalidArgument(let reason) {
                throw ServerError.invalidParams("params.labelSet: \(reason)")
            }
            // Over what the budget leaves: streamed, record by record.
            let data = listing.decodedBytes > ReadLimits.current.maxBytes
                ? try listing.stream(name: p.name, cacheBytes: MemoryBudget.streamCacheBytes(headroom: datasetHeadroom(p)))
                : try listing.load(name: p.name)
            return (data, root + " (" + part.rawValue + ")")
        case .npy:
            return try npyPair(p, images: file(p.images, "images"), labels: p.labels.map { try file($0, "labels") })
        case .broden:
            let root = try folder(p.path, "path")
            if let count = p.count, count < 1 { throw ServerError.invalidParams("params.count: the index rows to read, at least 1, got \(count)") }
            if let categories = p.categories, categories.isEmpty || Set(categories).count != categories.count {
                throw ServerError.invalidParams("params.categories: " + (categories.isEmpty ? "empty; leave it out to read every category" : "names a category twice"))
            }
            let transform = try imageTransform(p)
            do {
                return (try BrodenConcepts.load(root: root, transform: transform, categories: p.categories, count: p.count, name: p.name), root)
            } catch DataError.invalidArgument(let reason) {
                throw ServerError.invalidParams("params.categories: \(reason)")
            }
        case .mnistCSV, .mnistIDX, .shapes:
            return nil
        }
    }

    /// An image kind's images: decoded into memory when they fit what the budget leaves, else
    /// streamed (decoded per batch) with a cache of `MemoryBudget.streamCacheBytes`.
    private func images(_ listing: ImageFolder.Listing, transform: ImageTransform, _ p: DatasetLoad.Params) throws -> Dataset {
        let limits = ReadLimits.current
        guard let decoded = listing.decodedBytes(transform), decoded + listing.files.count * 8 > limits.maxBytes else {
            return try listing.load(transform: transform, name: p.name, limits: limits)
        }
        return listing.stream(transform: transform, name: p.name, cacheBytes: MemoryBudget.streamCacheBytes(headroom: datasetHeadroom(p)), limits: limits)
    }

    /// kind npy: an images array ([N, C, H, W], or [N, H, W, C] with layout NHWC, or [N, H, W])
    /// and an optional labels array. An uncompressed images file whose floats exceed what the
    /// budget leaves is streamed: each image read from its byte range when a batch asks.
    private func npyPair(_ p: DatasetLoad.Params, images: String, labels labelsPath: String?) throws -> (Dataset, String) {
        let layout: NPZ.Layout = p.layout == .nhwc ? .nhwc : .nchw
        let labels = try labelsPath.map { try NPY.loadLabels(path: $0) }
        func checked(_ count: Int) throws -> [Int] {
            guard let labels else { return Array(repeating: 0, count: count) }
            guard labels.count == count else { throw ServerError.shapeMismatch("params.labels: \(labels.count) labels for \(count) images") }
            if let bad = labels.firstIndex(where: { $0 < 0 || $0 >= 1 << 20 }) {
                throw ServerError.invalidParams("params.labels: label \(labels[bad]) at index \(bad) is outside 0...\((1 << 20) - 1)")
            }
            return labels
        }
        func classes(_ y: [Int]) -> [String] { p.classes ?? (0...(y.max() ?? 0)).map(String.init) }
        // A plain .npy opens as ranges; a gzipped one (or a malformed one, whose error the
        // whole read words) is read whole below.
        if let reader = try? NPYRangeReader(path: images, layout: layout) {
            let (values, overflow) = reader.imageShape.reduce(reader.count, *).multipliedReportingOverflow(by: 4)
            if overflow || values + reader.count * 8 > ReadLimits.current.maxBytes {
                let y = try checked(reader.count)
                let streamed = StreamedImages(reader: reader, cache: ImageCache(capacityBytes: MemoryBudget.streamCacheBytes(headroom: datasetHeadroom(p))))
                return (Dataset(name: p.name, streamed: streamed, labels: y, classes: classes(y)), images)
            }
        }
        var x = try NPY.load(path: images)
        switch x.rank {
        case 3: x = x.reshaped([x.shape[0], 1, x.shape[1], x.shape[2]])
        case 4 where layout == .nhwc: x = NPZ.nchw(x)
        case 4: break
        default:
            throw ServerError.shapeMismatch("params.images: expected an [N, C, H, W] array (or [N, H, W, C] with layout NHWC, or [N, H, W]), got shape \(x.shape)")
        }
        if try NPY.dtype(path: images) == "|u1" { x.scale(1 / 255) }
        let y = try checked(x.batch)
        return (Dataset(name: p.name, images: x, labels: y, classes: classes(y)), images)
    }

    /// `hierarchy`: the JSON parent map at `path` (an object of class → parent strings), made
    /// into the path-similarity matrix of `classes`. A class is looked up by its name, else by
    /// its first word (an ImageNet class-names line starts with its WordNet id).
    func classSimilarity(hierarchy value: String, classes: [String], paths: PathResolver) throws -> [Float] {
        let path = try paths.resolveFile(value, field: "params.hierarchy")
        var limits = ReadLimits.current
        limits.maxBytes = min(limits.maxBytes, 256 << 20)
        let bytes: [UInt8]
        do { bytes = try ClientFile.read(path, limits: limits) } catch FileReadError.io(_, let reason) {
            throw ServerError.io("params.hierarchy: cannot read \(path) (\(reason))")
        }
        let parsed: JSONValue
        do { parsed = try JSONText.parse(bytes, maxBytes: limits.maxBytes) } catch {
            throw ServerError.invalidParams("params.hierarchy: \(path) is not JSON (\(error))")
        }
        guard let object = parsed.objectValue else {
            throw ServerError.invalidParams("params.hierarchy: \(path) must hold a JSON object of class → parent names")
        }
        var parent: [String: String] = [:]
        for (child, up) in object {
            guard let name = up.stringValue else {
                throw ServerError.invalidParams("params.hierarchy: \(path): the parent of \(ClientText.quoted(child)) is not a string")
            }
            parent[child] = name
        }
        let keys = classes.map { name in
            parent[name] != nil ? name : String(name.split(separator: " ").first ?? Substring(name))
        }
        guard keys.contains(where: { parent[$0] != nil }) else {
            throw ServerError.invalidParams("params.hierarchy: \(path) names none of the \(classes.count) classes (\(classes.prefix(3).map { ClientText.quoted($0) }.joined(separator: ", "))...)")
        }
        do {
            return try ClassHierarchy.pathSimilarity(classes: keys, parent: parent, path: path)
        } catch let e as DataError {
            throw ServerError.invalidParams("params.hierarchy: \(e)")
        }
    }

    /// The image kinds' transform: the model's input shape and range, or `shape` in [0, 1].
    private func imageTransform(_ p: DatasetLoad.Params) throws -> ImageTransform {
        let shape: [Int], range: (Float, Float)
        switch (p.model, p.shape) {
        case (let name?, nil):
            let m = try workspace.model(name).model
            (shape, range) = (m.inputShape, (m.spec.input.lower, m.spec.input.upper))
            guard shape.count == 3, shape[0] == 1 || shape[0] == 3 else {
                throw ServerError.shapeMismatch("params.model: \"\(name)\" takes \(shape) inputs; image datasets give [1 or 3, H, W]")
            }
        case (nil, let s?):
            (shape, range) = (s, (0, 1))
        case (_?, _?):
            throw ServerError.invalidParams("params.shape: give model or shape, not both")
        case (nil, nil):
            throw ServerError.invalidParams("params.shape: required for kind \"\(p.kind.rawValue)\" unless params.model names a loaded model")
        }
        do {
            return try ImageTransform(shape: shape, resize: p.resize, range: range)
        } catch DataError.invalidArgument(let reason) {
            throw ServerError.invalidParams((p.resize.map { !(1...(1 << 14)).contains($0) } ?? false ? "params.resize: " : "params.shape: ") + reason)
        }
    }
}
