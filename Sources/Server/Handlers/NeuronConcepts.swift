import Data
import Files
import Foundation
import Interpret
import NN
import Protocol
import RPC
import Store
import TensorEngine

/// Concept labels and exemplars for explained units: probe's analysis applied to a reference
/// set. A conv layer on a dataset with concept masks gets Network-Dissection labels (IoU);
/// any other layer the class histogram of its top-k images. A layer's labels are computed
/// once for all its units and kept (by weights fingerprint, layer, set) in memory and in the
/// cache database's statistics table, so later explanations of the same model read them at no
/// cost, also after a restart; a training step changes the fingerprint and so never reads
/// stale labels.
final class NeuronConcepts: @unchecked Sendable {
    private let lock = NSLock()
    private var kept: [String: [Int: AdvLensServer.NeuronAnnotation]] = [:]
    private var order: [String] = []
    /// Layers remembered; the oldest is forgotten first.
    private let capacity = 64
    /// Images of a reference set used at most (a larger set is cut to its first ones).
    static let maxImages = 2000

    func annotations(key: String, compute: () throws -> [Int: AdvLensServer.NeuronAnnotation]) rethrows -> [Int: AdvLensServer.NeuronAnnotation] {
        if let found = lock.withLock({ kept[key] }) { return found }
        let made = try compute()
        lock.withLock {
            if kept[key] == nil { order.append(key) }
            kept[key] = made
            if order.count > capacity { kept.removeValue(forKey: order.removeFirst()) }
        }
        return made
    }
}

extension AdvLensServer {
    /// The reference set for concept labels: the request's `concepts.dataset`, else the dataset
    /// the input came from (directly, or through the attack that made a handle); nil when there
    /// is none or the client turned labels off.
    func conceptSet(_ p: ExplainPrediction.Params, connection: Int) throws -> (LoadedDataset, [Int])? {
        func load(_ name: String, _ indices: [Int]?, field: String) throws -> (LoadedDataset, [Int]) {
            let d = try workspace.dataset(name)
            let all = indices ?? Array(0..<min(d.data.count, NeuronConcepts.maxImages))
            for (i, index) in all.enumerated() where index < 0 || index >= d.data.count {
                throw ServerError.invalidParams("\(field).indices[\(i)]: \(index) is out of range for dataset \"\(name)\" (\(d.data.count) images)")
            }
            guard !all.isEmpty else { throw ServerError.invalidParams("\(field).indices: empty") }
            return (d, Array(all.prefix(NeuronConcepts.maxImages)))
        }
        if let c = p.concepts {
            if c.dataset == "none" { return nil }
            return try load(c.dataset, c.indices, field: "params.concepts")
        }
        // The dataset the (first) input came from, directly or through the attack behind a handle.
        switch p.input ?? p.inputs?.sources.first {
        case let .dataset(name, _, _):
            return try? load(name, nil, field: "params.input")
        case let .handle(id, _):
            guard let from = try? workspace.handles(for: connection).get(id).cleanDataset?.name else { return nil }
            return try? load(from, nil, field: "params.input")
        default:
            return nil
        }
    }

    /// The connection's activation cache (nil when its cache database cannot be opened: the
    /// analyses then compute everything).
    func activationCache(_ context: RequestContext) -> ActivationCache? {
        (try? workspace.store(for: context.connection)).map(ActivationStoreCache.init)
    }

    /// Concept and exemplars of `units` of `layer`, measured on `set`: from memory, else from
    /// the statistics table of the cache database (kind "concepts", keyed by the weights, the
    /// layer and the reference images' fingerprint, so labels survive a restart and a trained
    /// model misses), else computed and kept in both.
    func annotateUnits(_ model: ResidentModel, layer: String, units: [Int], set: (LoadedDataset, [Int]), k: Int,
                       _ context: RequestContext) throws -> [Int: NeuronAnnotation] {
        let (dataset, indices) = set
        let weights = model.model.fingerprint
        let kind = "concepts k=\(k) dataset=\(dataset.data.name)"
        // In memory the load's serial stands for the images; the cache database, which outlives
        // loads and processes, keys them by their fingerprint (computed only on a memory miss).
        var indexHash = Hasher()
        indexHash.combine(indices)
        let memoKey = "\(weights)|\(layer)|\(dataset.serial)|\(indexHash.finalize())|\(kind)"
        let all = try neuronConcepts.annotations(key: memoKey) {
            let images = try dataset.data.read(indices).images
            var f = Fingerprint()
            Fingerprint.inputs(images.data, count: images.batch).forEach { f.add($0) }
            let imagesKey = f.hex
            let store = try? workspace.store(for: context.connection)
            if let kept = try? store?.loadStatistics(weights: weights, layer: layer, dataset: imagesKey, kind: kind),
               let decoded = try? JSONDecoder().decode([KeptAnnotation].self, from: Data(kept.json.utf8)) {
                return Dictionary(decoded.map { ($0.unit, ($0.concept, $0.exemplars)) }, uniquingKeysWith: { a, _ in a })
            }
            let made = try computeConcepts(model.model, layer: layer, dataset: dataset.data, indices: indices, images: images, k: k, context)
            let rows = made.keys.sorted().map { KeptAnnotation(unit: $0, concept: made[$0]!.concept, exemplars: made[$0]!.exemplars) }
            if let store, let json = try? JSONEncoder().encode(rows) {
                do {
                    try store.storeStatistics(weights: weights, layer: layer, dataset: imagesKey, kind: kind,
                                              StoredStatistics(json: String(decoding: json, as: UTF8.self)))
                } catch {
                    Log.warning("concept labels not kept in the cache database: \(error)")
                }
            }
            return made
        }
        return all.filter { units.contains($0.key) }
    }

    /// Writes the receptive-field patch of each exemplar of the listed units into `directory`
    /// (inside the root) and records the paths.
    func writeExemplarPatches(_ layers: inout [ExplainPrediction.LayerNeurons], model: ResidentModel, set: (LoadedDataset, [Int]),
                              directory: String, _ context: RequestContext) throws {
        let dir = try workspace.paths(for: context.connection).resolve(directory, field: "params.concepts.patches")
        do { try ClientDirectory.create(dir) } catch let e as ClientDirectory.CreateError {
            throw ServerError.io("params.concepts.patches: cannot create directory \(e.description)")
        }
        for i in layers.indices {
            for j in layers[i].neurons.indices {
                guard var exemplars = layers[i].neurons[j].exemplars else { continue }
                let unit = layers[i].neurons[j].unit
                for (rank, e) in exemplars.enumerated() {
                    guard case let .dataset(_, idx?, _) = e.source, let image = idx.first else { continue }
                    let box = try ReceptiveField.box(model: model.model, layer: layers[i].layer, y: e.y ?? 0, x: e.x ?? 0)
                    let path = (dir as NSString).appendingPathComponent("concept-\(layers[i].layer)-u\(unit)-\(rank + 1).png")
                    let picture = try set.0.data.read([image]).images
                    do {
                        exemplars[rank].png = try writePatch(picture, image: 0, box: box, model: model.model, scale: 4, to: path)
                    } catch {
                        throw ServerError.io("params.concepts.patches: cannot write \(path): \(error)")
                    }
                }
                layers[i].neurons[j].exemplars = exemplars
            }
        }
    }

    /// One unit's labels as the statistics table keeps them.
    private struct KeptAnnotation: Codable {
        var unit: Int
        var concept: ExplainPrediction.Concept?
        var exemplars: [ExplainPrediction.Exemplar]?
    }

    private func computeConcepts(_ model: Model, layer: String, dataset: Dataset, indices: [Int], images: Tensor, k: Int,
                                 _ context: RequestContext) throws -> [Int: NeuronAnnotation] {
        let source = ActivationSource(model: model, cache: activationCache(context))
        source.shouldStop = { context.isCancelled }
        let geometry = try ActivationSource.geometry(of: layer, in: model)
        let units = Array(0..<geometry.units)
        let top = try source.activations(layer: layer, images: images, reduction: .max)
        var out: [Int: NeuronAnnotation] = [:]
        let labels = TopActivations.topImages(top, units: units, k: k).map { $0.map { dataset.labels[indices[$0]] } }
        for u in units {
            let best = TopActivations.top(top, unit: u, k: k)
            let exemplars = best.map {
                ExplainPrediction.Exemplar(source: .dataset(name: dataset.name, indices: [indices[$0.image]]), activation: $0.value,
                                           y: $0.y, x: $0.x)
            }
            let histogram = ClassHistograms.histogram(labels[u], classes: dataset.classes.count)
            var c = 0
            for i in histogram.indices where histogram[i] > histogram[c] { c = i }
            out[u] = (ExplainPrediction.Concept(label: dataset.classes[c], method: "classHistogram", score: histogram[c],
                                                 histogram: histogram, dataset: dataset.name), exemplars)
        }
        // Spatial units on a set with concept masks: the dissection label replaces the histogram's.
        if let masks = dataset.concepts, geometry.height * geometry.width > 1 {
            let dissected = try Dissection.dissect(source, layer: layer, images: images, masks: masks, maskImages: indices, units: units)
            for d in dissected {
                out[d.unit]?.concept = ExplainPrediction.Concept(label: masks.names[d.concept], method: "iou", score: d.iou,
                                                                  detector: d.detector, dataset: dataset.name)
            }
        }
        return out
    }
}
