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
        let batch = try InputDecoder(workspace: workspace, connection: context.connection).decode(p.inputs, for: members[0].model.model)
        let n = batch.images.batch
        // The clean predictions are forwarded here only when they stand in for missing labels;
        // otherwise the attack judges the clean images itself, from its first gradient pass
        // when that was at the clean image (one forward fewer for FGSM, BIM, MI-FGSM).
        var clean: [Int]?
        var labels: [Int]
        if let given = p.labels {
            guard given.count == n else { throw ServerError.invalidParams("params.labels: \(given.count) labels for \(n) inputs") }
            labels = given
        } else if batch.labels.contains(where: { $0 == nil }) {
            let predicted = try ensemble.predict(batch.images, ensemble.executions()).classes
            labels = batch.labels.enumerated().map { $0.element ?? predicted[$0.offset] }
            clean = predicted
        } else {
            labels = batch.labels.map { $0! }
        }
        if ownsProgress { context.progressBegin(title: "attack \(p.settings.method)", message: "\(n) inputs", percentage: 0) }
        // Inside another request (a probe's adversarial set) the attack's steps are reported as
        // messages only: the percentage is the outer request's, which must not run 0-100 twice.
        let monitor = AttackMonitor(progress: { done, total, fooled in
            context.progressReport(message: String(format: "iteration %d/%d, %.0f%% fooled", done, total, fooled * 100),
                                   percentage: !ownsProgress ? nil : total > 0 ? 100 * done / total : 100)
        }, shouldStop: { context.isCancelled })
        let result: AttackResult
        do {
            result = try Attack.run(config, on: ensemble, images: batch.images, labels: labels, keys: batch.keys, cleanPredictions: clean,
                                    monitor: monitor)
        } catch {
            throw attackError(error)
        }
        if ownsProgress { context.progressEnd(message: String(format: "%.0f%% success", result.successRate * 100)) }
        let resolved = result.config
        let wireConfig = AttackMethod.Config(settings: resolved, models: members.map { .init(name: $0.model.name, weight: $0.weight, fingerprint: $0.model.model.fingerprint) })
        let provenance = String(decoding: JSONText.serialize(try JSONValueCoding.encode(wireConfig)), as: UTF8.self)
        var cleanDataset: HandleDetails.CleanDataset?
        if p.inputs.sources.count == 1, case let .dataset(name, indices, sample) = p.inputs.sources[0] {
            let all = try workspace.dataset(name).data
            cleanDataset = .init(name: name, indices: try InputDecoder.indices(of: all, indices: indices, sample: sample, at: "params.inputs"))
        }
        let details = HandleDetails(sources: result.samples.map(\.source), targets: result.samples.map(\.target),
                                    adversarialLabels: result.samples.map(\.adversarialLabel), success: result.samples.map(\.success),
                                    cleanDataset: cleanDataset)
        // Pending until the reply that names it is about to go out: a daemon killed before that
        // (while transfer, PNGs or the reply are made) leaves no result that no client knows of;
        // the next open of the file evicts it.
        let handle = try handles.add(kind: "attack \(resolved.method.rawValue)", images: result.adversarial,
                                     labels: result.samples.map(\.label), provenance: provenance, details: details, clean: batch.images,
                                     pending: true)
        context.onReplying { try? handles.confirm(handle) }
        let samples = result.samples.enumerated().map { i, s in
            AttackMethod.Sample(index: i, source: s.source, label: s.label, target: s.target, adversarialLabel: s.adversarialLabel,
                                success: s.success, cleanCorrect: s.cleanCorrect, linf: s.linf, l2: s.l2, confidence: s.confidence,
                                iterations: s.iterations)
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let succeeded = result.attacked.filter(\.success)
        func mean(_ v: [Float]) -> Float { v.isEmpty ? 0 : v.reduce(0, +) / Float(v.count) }
        func median(_ v: [Float]) -> Float { let s = v.sorted(); return s.isEmpty ? 0 : (s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2) }
        var cleanCorrect = [Bool](repeating: false, count: n)
        for s in result.samples { cleanCorrect[s.source] = s.cleanCorrect }
        let summary = AttackMethod.Summary(
            count: samples.count, attacked: result.attacked.count, successRate: result.successRate, robustAccuracy: result.robustAccuracy,
            cleanAccuracy: Double(cleanCorrect.filter { $0 }.count) / Double(n),
            meanLinf: mean(succeeded.map(\.linf)), medianLinf: median(succeeded.map(\.linf)),
            meanL2: mean(succeeded.map(\.l2)), medianL2: median(succeeded.map(\.l2)),
            elapsedMs: seconds * 1000, imagesPerSecond: Double(samples.count) / max(result.seconds, 1e-9), stoppedEarly: result.stoppedEarly)
        var out = AttackMethod.Result(handle: handle, samples: samples, summary: summary, config: wireConfig, transfer: nil,
                                      images: nil, perturbations: nil, png: nil)
        do {
            try finish(&out, result: result, clean: batch.images, transferModels: transferModels, pngDirectory: pngDirectory,
                       options: p.return, range: (ensemble.lower, ensemble.upper),
                       captions: { (classes: members[0].model.model.spec.classes, clean: try ensemble.predict(batch.images, ensemble.executions())) })
        } catch {
            _ = try? handles.drop(handle)   // no reply names it: do not keep it
            throw error
        }
        if result.stoppedEarly {
            throw RPCError.cancelled(partial: try JSONValueCoding.encode(out))
        }
        return out
    }

    /// Transfer matrix, returned tensors and PNG strips of a finished attack.
    private func finish(_ out: inout AttackMethod.Result, result: AttackResult, clean: Tensor, transferModels: [(name: String, model: Model)],
                        pngDirectory: String?, options: AttackMethod.ReturnOptions?, range: (Float, Float),
                        captions: () throws -> StripCaptions) throws {
        if !transferModels.isEmpty {
            out.transfer = try transferModels.map { name, m in
                let (predicted, _) = try Ensemble(m).predict(result.adversarial, [Execution()])
                let ok = zip(predicted, result.samples).map { pred, s in s.target.map { pred == $0 } ?? (pred != s.label) }
                return .init(model: name, successRate: Double(ok.filter { $0 }.count) / Double(ok.count),
                             robustAccuracy: Double(zip(predicted, result.samples).filter { $0 == $1.label }.count) / Double(ok.count))
            }
        }
        if options?.images == true { out.images = result.adversarial.wire }
        if options?.perturbations == true {
            out.perturbations = (result.adversarial - clean.gather(result.samples.map(\.source))).wire
        }
        if let dir = pngDirectory {
            out.png = try writeStrips(result, clean: clean, handle: out.handle, directory: dir, options: options!, range: range, captions: try captions())
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

    /// The PNG directory, resolved and created, with the PNG options checked.
    private func pngTarget(_ directory: String, options: AttackMethod.ReturnOptions, paths: PathResolver) throws -> String {
        if let scale = options.pngScale, !(1...32).contains(scale) {
            throw ServerError.invalidParams("params.return.pngScale: expected 1 to 32, got \(scale)")
        }
        if let limit = options.pngLimit, limit < 0 {
            throw ServerError.invalidParams("params.return.pngLimit: expected a non-negative count, got \(limit)")
        }
        let dir = try paths.resolve(directory, field: "params.return.png")
        do { try ClientDirectory.create(dir) } catch let e as ClientDirectory.CreateError {
            throw ServerError.io("params.return.png: cannot create directory \(e.description)")
        }
        return dir
    }

    /// What the strips' captions name: the class names, and the clean prediction of each input
    /// (computed only when strips are written: the attack itself needs no clean forward pass).
    typealias StripCaptions = (classes: [String], clean: (classes: [Int], confidence: [Float]))

    private func writeStrips(_ r: AttackResult, clean: Tensor, handle: String, directory dir: String, options: AttackMethod.ReturnOptions,
                             range: (Float, Float), captions: StripCaptions) throws -> [String] {
        func name(_ c: Int) -> String { c >= 0 && c < captions.classes.count ? captions.classes[c] : String(c) }
        let limit = options.pngLimit ?? 64, scale = options.pngScale ?? 4
        let shape = Array(r.adversarial.shape.dropFirst()), per = r.adversarial.itemCount
        var written: [String] = []
        for (i, s) in r.samples.enumerated().prefix(max(0, limit)) {
            let caption = Images.StripCaption(trueClass: name(s.label), cleanClass: name(captions.clean.classes[s.source]),
                                              cleanConfidence: captions.clean.confidence[s.source], adversarialClass: name(s.adversarialLabel),
                                              adversarialConfidence: s.confidence, success: s.success, linf: s.linf, l2: s.l2)
            let strip = Images.comparisonStrip(original: clean.data[(s.source * per)..<((s.source + 1) * per)],
                                               adversarial: r.adversarial.data[(i * per)..<((i + 1) * per)],
                                               channels: shape[0], height: shape[1], width: shape[2], range: range, scale: scale, caption: caption)
            let path = (dir as NSString).appendingPathComponent("\(handle)-\(i).png")
            try Images.writePNG(strip.pixels, width: strip.width, height: strip.height, channels: 3, to: path)
            written.append(path)
        }
        return written
    }
}
