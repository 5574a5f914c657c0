import Data
import Files
import Foundation
import Protocol
import RPC
import TensorEngine

/// dataset/load, dataset/list, dataset/info.
extension AdvLensServer {
    static func datasetKey(_ name: String) -> String { "dataset:" + name }

    /// Read locks for the datasets a request's inputs name, so a dataset/load in flight for one
    /// of them completes first.
    static func datasetKeys(_ inputs: Inputs) -> [String] {
        Array(Set(inputs.sources.compactMap { source -> String? in
            if case let .dataset(name, _, _) = source { return datasetKey(name) }
            return nil
        })).sorted()
    }

    func registerDatasetMethods() {
        register(DatasetLoad.self, access: { p in
            .writes(p.split == nil ? [Self.datasetKey(p.name)] : [p.name, p.name + "-train", p.name + "-test"].map(Self.datasetKey))
        }) { [unowned self] p, context in
            try checkName(p.name, field: "params.name")
            let (data, source) = try withinMemoryBudget(p) { try loadDataset(p, paths: workspace.paths(for: context.connection)) }
            guard let split = p.split else {
                let d = LoadedDataset(data: data, kind: p.kind, source: source)
                try workspace.admit(MemoryBudget.bytes(d), for: "dataset \"\(p.name)\"", replacing: ["dataset \"\(p.name)\""])
                workspace.setDataset(d)
                return DatasetLoad.Result(datasets: [d.summary])
            }
            var (train, test): ([Int], [Int])
            do {
                (train, test) = try StratifiedSplit.split(labels: data.labels, testPerClass: split.testPerClass, seed: split.seed ?? 0)
            } catch {
                throw ServerError.invalidParams("params.split: \(error)")
            }
            let seed = split.seed ?? 0, version = split.version ?? DatasetLoad.Split.defaultVersion
            switch version {
            case 1: break
            case 2:
                train = StratifiedSplit.interleaved(train, labels: data.labels, seed: seed)
                test = StratifiedSplit.interleaved(test, labels: data.labels, seed: seed)
            case let v:
                throw ServerError.invalidParams("params.split.version: 2 (classes interleaved, the default) or 1 (dataset order), got \(v)")
            }
            let made = DatasetLoad.Split(testPerClass: split.testPerClass, seed: seed, version: version)
            let parts = [LoadedDataset(data: data.subset(train, name: p.name + "-train"), kind: p.kind, source: source),
                         LoadedDataset(data: data.subset(test, name: p.name + "-test"), kind: p.kind, source: source)]
            try workspace.admit(parts.enumerated().reduce(0) { $0 + MemoryBudget.bytes($1.element, countingCache: $1.offset == 0) }, for: "dataset \"\(p.name)\" (split)",
                                replacing: Set(parts.map { "dataset \"\($0.data.name)\"" }))
            parts.forEach(workspace.setDataset)
            return DatasetLoad.Result(datasets: parts.map(\.summary), split: made)
        }
        register(DatasetList.self, access: { _ in .concurrent }) { [unowned self] _, _ in
            DatasetList.Result(datasets: workspace.allDatasets.map(\.summary))
        }
        register(DatasetInfo.self, access: { _ in .concurrent }) { [unowned self] p, context in
            try workspace.dataset(p.name).summary
        }
    }

    /// Runs a dataset load with file reads capped at what the memory budget leaves: a small
    /// gzip file that inflates to gigabytes stops at the budget, not at --max-file-bytes (which
    /// may be larger than the machine's memory), and the refusal says so.
    private func withinMemoryBudget<T>(_ p: DatasetLoad.Params, _ load: () throws -> T) throws -> T {
        let headroom = datasetHeadroom(p)
        var limits = ReadLimits.current
        let budgetBound = headroom < limits.maxBytes
        limits.maxBytes = min(limits.maxBytes, headroom)
        do {
            return try ReadLimits.$current.withValue(limits) { try load() }
        } catch FileReadError.tooLarge(let path, _) where budgetBound {
            throw ServerError.resourceLimit(
                "dataset \"\(p.name)\": \(path) holds (or inflates to) more than the \(MemoryBudget.megabytes(headroom)) the memory budget leaves "
                + "(advlensd --memory-limit \(MemoryBudget.megabytes(workspace.memoryBudget.limitBytes)), \(MemoryBudget.megabytes(workspace.memoryBudget.limitBytes - headroom)) resident); "
                + "unload a model or dataset, or start the daemon with a larger --memory-limit")
        } catch let e as FileReadError {
            throw ServerError.from(e, context: "dataset/load")
        }
    }

    /// What the memory budget leaves for the dataset(s) `p` loads, once the ones it replaces are freed.
    func datasetHeadroom(_ p: DatasetLoad.Params) -> Int {
        let names = p.split == nil ? [p.name] : [p.name + "-train", p.name + "-test"]
        return workspace.headroom(replacing: Set(names.map { "dataset \"\($0)\"" }))
    }

    private func loadDataset(_ p: DatasetLoad.Params, paths: PathResolver) throws -> (Dataset, String) {
        func path(_ value: String?, _ field: String) throws -> String {
            guard let value else { throw ServerError.invalidParams("params.\(field): required for kind \"\(p.kind.rawValue)\"") }
            return try paths.resolveFile(value, field: "params.\(field)")
        }
        var data: Dataset
        let source: String
        try Self.checkParamsUsed(p)
        do {
            switch p.kind {
            case .npz, .imagefolder, .imagenetVal, .cifar, .npy, .broden:
                (data, source) = try loadFileKind(p, paths: paths)!
            case .shapes:
                (data, source) = try generateShapes(p)
            case .mnistCSV:
                source = try path(p.path, "path")
                data = try MNISTCSV.load(path: source)
            case .mnistIDX:
                let images = try path(p.images, "images"), labels = try path(p.labels, "labels")
                source = images + " + " + labels
                data = try MNISTIDX.load(images: images, labels: labels)
            }
        } catch let e as FileReadError {
            throw e   // worded by withinMemoryBudget, which knows whether the budget set the limit
        } catch {
            throw ServerError.from(error, context: "dataset/load")
        }
        if let classes = p.classes {
            guard let top = data.labels.max(), top < classes.count else {
                throw ServerError.invalidParams("params.classes: \(classes.count) names for labels up to \(data.labels.max() ?? 0)")
            }
            data.classes = classes
        }
        guard data.labels.allSatisfy({ $0 >= 0 && $0 < data.classes.count }) else {
            throw ServerError.invalidParams("dataset/load: labels must lie in 0..<\(data.classes.count)")
        }
        if let hierarchy = p.hierarchy {
            data.classSimilarity = try classSimilarity(hierarchy: hierarchy, classes: data.classes, paths: paths)
        }
        data.name = p.name
        return (data, source)
    }

    /// kind "shapes": the seeded shapes-and-parts set (Data/Shapes), masks included unless
    /// `masks` is false. Files play no part (`checkParamsUsed` refuses file params).
    private func generateShapes(_ p: DatasetLoad.Params) throws -> (Dataset, String) {
        guard let count = p.count else { throw ServerError.invalidParams("params.count: required for kind \"shapes\"") }
        let masks = p.masks ?? true, seed = p.seed ?? 0
        let limit = masks ? ShapesGenerator.maxCountWithMasks : ShapesGenerator.maxCount
        guard count > 0, count <= limit else {
            throw ServerError.invalidParams("params.count: must be in 1...\(limit)"
                + (masks ? " with masks (\(ShapesGenerator.maxCount) with \"masks\": false)" : "") + ", got \(count)")
        }
        let data = try ShapesGenerator.generate(count: count, seed: seed, masks: masks, name: p.name)
        return (data, "shapes generator, seed \(seed)" + (masks ? "" : ", no masks"))
    }
}
