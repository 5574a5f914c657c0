import Attacks
import Files
import Foundation
import NN
import Protocol
import Settings
import RPC
import TensorEngine

/// attack: runs an Attacks method on one model or an ensemble, keeps the adversarial batch as
/// a handle, optionally judges it on other models (transfer) and writes comparison PNGs.
/// Reads every model involved; progress reports each iteration with the fraction fooled; a
/// cancel answers -32800 with the best adversarials so far in error.data.
extension AdvLensServer {
    func registerAttack() {
        register(AttackMethod.self, access: { p in
            let names = (p.models?.map(\.name) ?? []) + (p.model.map { [$0] } ?? []) + (p.evaluateOn ?? [])
            return .reads(Array(Set(names.map(Self.modelKey))).sorted() + Self.datasetKeys(p.inputs))
        }) { [unowned self] p, context in
            try logged(context, summarize: { (r: AttackMethod.Result) in
                .object(JSONObject([("handle", .string(r.handle)), ("summary", try JSONValueCoding.encode(r.summary))]))
            }) { try attack(p, context) }
        }
        register(HandleList.self, access: { _ in .concurrent }) { [unowned self] _, context in
            let handles = try workspace.handles(for: context.connection)
            let all = try handles.all()
            return HandleList.Result(handles: all, totalBytes: all.reduce(0) { $0 + $1.bytes }, limitBytes: handles.limitBytes)
        }
        register(HandleDrop.self, access: { _ in .concurrent }) { [unowned self] p, context in
            guard try workspace.handles(for: context.connection).drop(p.handle) else {
                throw ServerError.notFound("no result handle named \"\(p.handle)\"")
            }
            return EmptyResult()
        }
    }

    /// Runs an attack and keeps its result as a handle. `ownsProgress` false (probe runs an
    /// attack inside its own progress) skips begin and end but keeps the iteration reports.
    ///
    /// Inputs held in memory are attacked as one batch. One reference to a streamed dataset is
    /// attacked a chunk at a time (a quarter of the images its cache holds): each chunk's images are
    /// read, attacked, judged, and appended to the kept result (shard files when large), so
    /// memory holds one chunk whatever the set's size; per-image randomness is keyed by dataset
    /// index, so the images come out as the one-batch attack makes them.
    func attack(_ p: AttackMethod.Params, _ context: RequestContext, ownsProgress: Bool = true) throws -> AttackMethod.Result {
        let start = DispatchTime.now().uptimeNanoseconds
        // Everything that can be checked from the params is checked before any work.
        let config = try Self.resolvedAttack(p.settings)
        let handles = try workspace.handles(for: context.connection)   // a cache that cannot open fails before the work
        let members = try ensembleMembers(p)
        let transferModels = try (p.evaluateOn ?? []).map { (name: $0, model: try workspace.model($0).model) }
        let pngDirectory = try p.return?.png.map { try pngTarget($0, options: p.return!, paths: workspace.paths(for: context.connection)) }
        let ensemble: Ensemble
        do { ensemble = try Ensemble(members.map { ($0.model.model, $0.weight) }) } catch { throw attackError(error) }
        let model = members[0].model.model
        let inputs = try InputDecoder(workspace: workspace, connection: context.connection).batches(p.inputs, for: model)
        let n = inputs.images.count
        if let given = p.labels, given.count != n { throw ServerError.invalidParams("params.labels: \(given.count) labels for \(n) inputs") }
        // A streamed set's chunk: a quarter of the images its cache holds, since an attack keeps
        // about a dozen copies of its chunk (clean, clipped, iterate, gradient, best so far, ...).
        let chunk = inputs.images.streamedBatch.map { max(1, $0 / 4) } ?? n
        if chunk < n, config.targeted == true, case .given(let targets)? = config.target, targets.count != n {
            throw attackError(AttackError.invalid("target", "\(targets.count) targets for \(n) images"))
        }
        let perImage = config.targeted == true ? config.targetsPerImage ?? 1 : 1
        try checkReturnedArrays(p.return, samples: n * perImage, imageShape: model.inputShape)
        let writer = try handles.writer(imagesShape: [n * perImage] + model.inputShape, cleanShape: [n] + model.inputShape)
        if ownsProgress { context.progressBegin(title: "attack \(p.settings.method)", message: "\(n) inputs", percentage: 0) }

        var made = AttackChunks(transferModels: transferModels.map(\.model), options: p.return)
        var strips = StripFiles(directory: pngDirectory, options: p.return)
        do {
            for lower in stride(from: 0, to: n, by: max(1, chunk)) {
                let range = lower..<min(n, lower + chunk)
                let x = try inputs.images.slice(range)
                // The clean predictions are forwarded only when they stand in for missing labels;
                // otherwise the attack judges the clean images itself, from its first gradient
                // pass when that was at the clean image (one forward fewer for FGSM, BIM, MI-FGSM).
                var clean: [Int]?
                let carried: [Int?] = p.labels.map { $0[range].map { $0 } } ?? Array(inputs.labels[range])
                var labels = carried.map { $0 ?? -1 }
                if carried.contains(where: { $0 == nil }) {
                    let predicted = try ensemble.predict(x, ensemble.executions()).classes
                    labels = zip(carried, predicted).map { $0 ?? $1 }
                    clean = predicted
                }
                var settings = config
                if range.count < n, case .given(let targets)? = config.target { settings.target = .given(Array(targets[range])) }
                // Inside another request (a probe's adversarial set) the attack's steps are reported
                // as messages only: the percentage is the outer request's, which must not run 0-100 twice.
                let monitor = AttackMonitor(progress: { done, total, fooled in
                    var message = String(format: "iteration %d/%d, %.0f%% fooled", done, total, fooled * 100)
                    if range.count < n { message = "images \(range.lowerBound + 1)-\(range.upperBound) of \(n), " + message }
                    context.progressReport(message: message,
                                           percentage: !ownsProgress ? nil : total > 0 ? 100 * (range.lowerBound * total + range.count * done) / (n * total) : 100)
                }, shouldStop: { context.isCancelled })
                let result: AttackResult
                do {
                    result = try Attack.run(settings, on: ensemble, images: x, labels: labels, keys: Array(inputs.keys[range]), cleanPredictions: clean,
                                            monitor: monitor)
                } catch {
                    throw attackError(error)
                }
                let first = made.samples.count
                try HandleStore.mapped {
                    try result.adversarial.data.withUnsafeBufferPointer { try writer.append(images: $0) }
                    try x.data.withUnsafeBufferPointer { try writer.append(clean: $0) }
                }
                try made.add(result, clean: x, offset: range.lowerBound)
                if strips.wanted(from: first) {
                    let captions = (classes: model.spec.classes, clean: try ensemble.predict(x, ensemble.executions()))
                    try strips.write(result, clean: x, first: first, range: (ensemble.lower, ensemble.upper), captions: captions)
                }
                if result.stoppedEarly { made.stoppedEarly = true; break }
            }
        } catch {
            writer.abandon()
            strips.discard()
            throw error
        }
        let inputsDone = writer.rows.clean
        if ownsProgress { context.progressEnd(message: String(format: "%.0f%% success", made.successRate * 100)) }
        let wireConfig = AttackMethod.Config(settings: config, models: members.map { .init(name: $0.model.name, weight: $0.weight, fingerprint: $0.model.model.fingerprint) })
        let provenance = String(decoding: JSONText.serialize(try JSONValueCoding.encode(wireConfig)), as: UTF8.self)
        var cleanDataset: HandleDetails.CleanDataset?
        if p.inputs.sources.count == 1, case let .dataset(name, indices, sample) = p.inputs.sources[0] {
            let all = try workspace.dataset(name).data
            cleanDataset = .init(name: name, indices: Array(try InputDecoder.indices(of: all, indices: indices, sample: sample, at: "params.inputs").prefix(inputsDone)))
        }
        let samples = made.samples
        let details = HandleDetails(sources: samples.map(\.source), targets: samples.map(\.target),
                                    adversarialLabels: samples.map(\.adversarialLabel), success: samples.map(\.success),
                                    cleanDataset: cleanDataset)
        // Pending until the reply that names it is about to go out: a daemon killed before that
        // (while the PNGs or the reply are made) leaves no result that no client knows of; the
        // next open of the file evicts it.
        let handle: String
        do {
            handle = try HandleStore.mapped {
                try writer.commit(kind: "attack \(config.method.rawValue)", labels: samples.map(\.label), provenance: provenance,
                                  details: details.json, pending: true)
            }
        } catch {
            strips.discard()
            throw error
        }
        context.onReplying { try? handles.confirm(handle) }
        var out = AttackMethod.Result(handle: handle, samples: [], summary: made.summary(inputs: inputsDone, since: start), config: wireConfig,
                                      transfer: made.transfer(names: transferModels.map(\.name)), images: nil, perturbations: nil, png: nil)
        do {
            if pngDirectory != nil { out.png = try strips.name(for: handle) }
        } catch {
            _ = try? handles.drop(handle)   // no reply names it: do not keep it
            throw error
        }
        out.samples = samples.enumerated().map { i, s in
            AttackMethod.Sample(index: i, source: s.source, label: s.label, target: s.target, adversarialLabel: s.adversarialLabel,
                                success: s.success, cleanCorrect: s.cleanCorrect, linf: s.linf, l2: s.l2, confidence: s.confidence,
                                iterations: s.iterations)
        }
        let sampleShape = [samples.count] + model.inputShape
        if p.return?.images == true { out.images = Tensor(shape: sampleShape, data: made.images).wire }
        if p.return?.perturbations == true { out.perturbations = Tensor(shape: sampleShape, data: made.perturbations).wire }
        if made.stoppedEarly {
            throw RPCError.cancelled(partial: try JSONValueCoding.encode(out))
        }
        return out
    }

    /// Refuses `return.images` and `return.perturbations` whose tensor would not fit in a
    /// message (`--max-message-bytes`, as base64): such arrays are read from the result handle.
    private func checkReturnedArrays(_ options: AttackMethod.ReturnOptions?, samples: Int, imageShape: [Int]) throws {
        let base64 = (samples * imageShape.reduce(4, *) + 2) / 3 * 4
        guard base64 > self.options.maxMessageBytes else { return }
        for (field, asked) in [("images", options?.images), ("perturbations", options?.perturbations)] where asked == true {
            throw ServerError.resourceLimit("params.return.\(field): \(samples) images of \(imageShape) take \(base64) bytes as base64, more than "
                + "one message may carry (\(self.options.maxMessageBytes), advlensd --max-message-bytes); leave it out and read them "
                + "from the result handle ({\"handle\": ...} inputs), a part at a time with indices")
        }
    }

    private func ensembleMembers(_ p: AttackMethod.Params) throws -> [(model: ResidentModel, weight: Float)] {
        switch (p.model, p.models) {
        case let (name?, nil):
            return [(try workspace.model(name), 1)]
        case let (nil, list?):
            guard !list.isEmpty else { throw ServerError.invalidParams("params.models: expected at least one model") }
            if let bad = list.firstIndex(where: { !(($0.weight ?? 1) > 0 && ($0.weight ?? 1).isFinite) }) {
                throw ServerError.invalidParams("params.models[\(bad)].weight: must be positive, got \(list[bad].weight!)")
            }
            return try list.map { (try workspace.model($0.name), $0.weight ?? 1) }
        default:
            throw ServerError.invalidParams("params: give exactly one of model (a name) or models (an ensemble)")
        }
    }

    /// The attack's settings resolved (the method's defaults filled in), or the error naming
    /// the field under `prefix` (where the settings sit in the request).
    static func resolvedAttack(_ settings: AttackConfig, prefix: String = "params.") throws -> AttackConfig {
        do { return try settings.resolved() } catch let e as SettingsError { throw ServerError.invalidParams(prefix + e.description) }
    }

    private func attackError(_ error: Error) -> Error {
        if let e = error as? SettingsError { return ServerError.invalidParams("params.\(e.description)") }
        return error
    }
}
