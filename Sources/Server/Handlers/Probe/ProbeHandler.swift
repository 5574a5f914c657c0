import Data
import Foundation
import Interpret
import NN
import Protocol
import RPC
import Settings
import TensorEngine

/// probe: the neuron analyses of the Interpret module on a resident model (PAPER.md §3).
/// Reads the model, the datasets named and, when it runs an attack, that attack's models.
/// Activations come from one `ActivationSource` per request (where the activation cache plugs
/// in); progress reports each batch, and a cancel is honoured between batches.
/// Each kind is one file beside this one, listed in ProbeKindRegistry; patches in ProbePatches.swift.
extension AdvLensServer {
    func registerProbe() {
        register(Probe.self, access: { p in
            var keys = [Self.modelKey(p.model)]
            if let d = p.dataset { keys.append(Self.datasetKey(d.name)) }
            if let inputs = p.inputs { keys += Self.datasetKeys(inputs) }
            if let a = p.adversarial?.attack {
                keys += ((a.models?.map(\.name) ?? []) + (a.model.map { [$0] } ?? [])).map(Self.modelKey)
                keys += Self.datasetKeys(a.inputs) + (a.evaluateOn ?? []).map(Self.modelKey)
            }
            return .reads(Array(Set(keys)).sorted())
        }) { [unowned self] p, context in
            try probe(p, context)
        }
    }

    /// What every kind works from, checked before any work.
    struct ProbeRequest {
        let params: Probe.Params
        let kind: any ProbeKind.Type
        let model: Model
        /// The layer's name as the model names it.
        let layer: String
        let layerShape: [Int]
        let units: [Int]
        let reduction: ActivationReduction
        let k: Int
        let source: ActivationSource
        let context: RequestContext
    }

    /// The real set: images with their labels and the index each is reported under. The
    /// images are read a batch at a time (a streamed dataset is never decoded whole).
    struct ProbeImages {
        var images: ImageBatches
        var labels: [Int?]
        var indices: [Int]
        /// The dataset, when the set is (part of) one.
        var dataset: Dataset?
    }

    /// The adversarial set, with what each image was made from.
    struct AdversarialImages {
        var handle: String
        var images: Tensor
        var sourceLabels: [Int]
        /// The attack's target, else the adversarial prediction.
        var targets: [Int]
        var origins: [StoredResult.Origin]?
        var clean: Tensor?
        var cleanDataset: HandleDetails.CleanDataset?
        /// Images left out because their attack failed (nil: all were kept, or the set records
        /// no success).
        var excluded: Int?
        /// Each image's position in the handle (they differ once indices or failures left some out).
        var positions: [Int]
    }

    private func probe(_ p: Probe.Params, _ context: RequestContext) throws -> Probe.Result {
        let start = DispatchTime.now().uptimeNanoseconds
        let kind = try ProbeKindRegistry.kind(p.kind)
        let model = try workspace.model(p.model).model
        let layer: Layer
        do { layer = try ActivationSource.resolve(p.layer, in: model) } catch {
            throw ServerError.notFound("params.layer: no layer named \"\(p.layer)\" in model \"\(p.model)\"; layers: \(ActivationSource.layerNames(model).joined(separator: ", "))")
        }
        let g = try ActivationSource.geometry(of: layer.name, in: model)
        let units = p.units ?? Array(0..<g.units)
        guard !units.isEmpty else { throw ServerError.invalidParams("params.units: expected at least one unit") }
        if let bad = units.firstIndex(where: { $0 < 0 || $0 >= g.units }) {
            throw ServerError.invalidParams("params.units[\(bad)]: \(units[bad]) is out of range; layer \(layer.name) has \(g.units) units (0..<\(g.units))")
        }
        if kind.name != DissectProbe.name {
            for (field, given) in [("topValues", p.topValues != nil), ("thresholds", p.thresholds != nil), ("counts", p.counts != nil)] where given {
                throw ServerError.invalidParams("params.\(field): only for kind dissect")
            }
        }
        let reduction = try kind.reduction(p.reduction)
        let k = p.k ?? 10
        guard k >= 1 else { throw ServerError.invalidParams("params.k: expected a positive integer, got \(k)") }
        // A streamed dataset's default batch is what its cache holds (see ImageBatches.streamedBatch).
        let streamed = (p.dataset?.name ?? InputDecoder.loneDataset(p.inputs)).flatMap { try? workspace.dataset($0).data }.flatMap { ImageBatches($0).streamedBatch }
        let batchSize = p.batchSize ?? streamed ?? 100
        guard (1...4096).contains(batchSize) else { throw ServerError.invalidParams("params.batchSize: expected 1 to 4096, got \(batchSize)") }
        let source = ActivationSource(model: model, cache: activationCache(context), batchSize: batchSize)
        source.shouldStop = { context.isCancelled }
        let request = ProbeRequest(params: p, kind: kind, model: model, layer: layer.name, layerShape: model.outputShapes[layer.name]!, units: units,
                                   reduction: reduction, k: k, source: source, context: context)
        context.progressBegin(title: "probe \(p.kind)", message: "layer \(layer.name)", percentage: 0)
        var result = Probe.Result(kind: p.kind, model: p.model, layer: layer.name, layerShape: request.layerShape, count: 0, elapsedMs: 0)
        do {
            try kind.run(self, request, &result)
        } catch InterpretError.cancelled {
            throw RPCError.cancelled()
        } catch let e as InterpretError {
            throw ServerError.invalidParams("params: \(e.description)")
        }
        context.progressEnd(message: "done")
        result.elapsedMs = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        return result
    }

    /// Reports a phase's progress: `phase` of `phases`, images done of total.
    /// (The closure holds the context only: holding `r` would make the source own itself.)
    func probeProgress(_ r: ProbeRequest, phase: Int, of phases: Int, label: String) {
        let context = r.context
        r.source.progress = { done, total in
            let pct = (100 * phase + 100 * done / max(total, 1)) / phases
            context.progressReport(message: "\(label): \(done)/\(total) images", percentage: min(99, pct))
        }
    }

    /// The real set: `dataset` or `inputs` (exactly one; `needLabels` requires labels).
    func probeImages(_ r: ProbeRequest, needLabels: Bool) throws -> ProbeImages {
        let p = r.params
        switch (p.dataset, p.inputs) {
        case let (d?, nil):
            let data = try workspace.dataset(d.name).data
            guard data.imageShape == r.model.inputShape else {
                throw ServerError.shapeMismatch("params.dataset: \"\(d.name)\" holds \(data.imageShape) images, the model takes \(r.model.inputShape)")
            }
            let idx = try InputDecoder.indices(of: data, indices: d.indices, sample: d.sample, at: "params.dataset")
            let all = d.indices == nil && d.sample == nil
            return ProbeImages(images: InputDecoder.datasetBatches(data, name: d.name, indices: all ? nil : idx, model: r.model, field: "params.dataset"), labels: idx.map { data.labels[$0] }, indices: idx, dataset: data)
        case let (nil, inputs?):
            guard !needLabels else { throw ServerError.invalidParams("params.dataset: \(p.kind) needs a labelled dataset as its real set (not inputs)") }
            let b = try InputDecoder(workspace: workspace, connection: r.context.connection).batches(inputs, for: r.model)
            return ProbeImages(images: b.images, labels: b.labels, indices: Array(0..<b.images.count), dataset: nil)
        case (nil, nil):
            throw ServerError.invalidParams("params.dataset: \(p.kind) needs a real set: dataset {name, indices?}\(needLabels ? "" : " or inputs")")
        default:
            throw ServerError.invalidParams("params: give one of dataset or inputs, not both")
        }
    }

    /// The adversarial set: a handle, or an attack run now (kept as a handle); nil when the
    /// request gives none and the kind does not require one.
    func adversarialImages(_ r: ProbeRequest) throws -> AdversarialImages? {
        guard let a = r.params.adversarial else {
            if r.kind.adversarialSet == .required { throw ServerError.invalidParams("params.adversarial: \(r.params.kind) needs an adversarial set: {\"handle\": ...} or {\"attack\": {...}}") }
            return nil
        }
        let id: String
        switch (a.handle, a.attack) {
        case let (h?, nil):
            id = h
        case let (nil, attack?):
            var params = attack
            if params.model == nil && params.models == nil { params.model = r.params.model }
            r.context.progressReport(message: "attack \(attack.settings.method)", percentage: 0)
            do { id = try self.attack(params, r.context, ownsProgress: false).handle } catch let e as RPCError {
                throw RPCError(code: e.code, message: e.message.replacingOccurrences(of: "params.", with: "params.adversarial.attack."), data: e.data)
            }
        default:
            throw ServerError.invalidParams("params.adversarial: give exactly one of handle or attack")
        }
        var stored: StoredResult
        do { stored = try workspace.handles(for: r.context.connection).get(id) } catch let e as RPCError {
            throw RPCError(code: e.code, message: "params.adversarial.handle: " + e.message, data: nil)
        }
        guard Array(stored.images.shape.dropFirst()) == r.model.inputShape else {
            throw ServerError.shapeMismatch("params.adversarial.handle: \"\(id)\" holds \(Array(stored.images.shape.dropFirst())) images, the model takes \(r.model.inputShape)")
        }
        var origins = stored.origins
        var success = stored.details.success.flatMap { $0.count == stored.images.batch ? $0 : nil }
        var positions = Array(0..<stored.images.batch)
        func keep(_ idx: [Int]) {
            positions = idx.map { positions[$0] }
            stored.images = stored.images.gather(idx)
            stored.labels = idx.map { stored.labels[$0] }
            origins = origins.map { o in idx.map { o[$0] } }
            success = success.map { s in idx.map { s[$0] } }
        }
        if let idx = a.indices {
            guard !idx.isEmpty else { throw ServerError.invalidParams("params.adversarial.indices: expected at least one index") }
            if let bad = idx.firstIndex(where: { $0 < 0 || $0 >= stored.images.batch }) {
                throw ServerError.invalidParams("params.adversarial.indices[\(bad)]: \(idx[bad]) is out of range 0..<\(stored.images.batch)")
            }
            keep(idx)
        }
        // The paper's measures are about adversarial examples that fool the model: failed
        // attacks are left out (and counted) unless the request asks for all.
        var excluded: Int?
        if r.params.adversarials ?? .successful == .successful, let s = success {
            let fooled = s.indices.filter { s[$0] }
            guard !fooled.isEmpty else {
                throw ServerError.invalidParams("params.adversarial: none of the \(s.count) adversarial images of \"\(id)\" fooled the model (every attack failed); pass adversarials: \"all\" to probe them anyway")
            }
            excluded = s.count - fooled.count
            if fooled.count < s.count { keep(fooled) }
        }
        let targets: [Int]
        if let origins {
            targets = origins.map { $0.target ?? $0.adversarialLabel }
        } else {
            targets = try r.model.predict(stored.images).argmaxRows()
        }
        return AdversarialImages(handle: id, images: stored.images, sourceLabels: stored.labels, targets: targets, origins: origins,
                                 clean: stored.clean, cleanDataset: stored.cleanDataset, excluded: excluded,
                                 positions: positions)
    }
}
