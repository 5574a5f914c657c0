import Attacks
import Data
import Foundation
import NN
import Protocol
import Settings
import RPC
import TensorEngine

/// evaluate: clean accuracy, and the worst case over a list of attacks at one budget or over
/// a curve of epsilons, in chunks: per chunk every point runs its attacks in order (each only
/// on the images still robust, unless `independent`). One progress stream over chunks, points
/// and attacks; a cancel between them (or inside an attack, which then stops) answers with the
/// figures over the chunks finished.
extension AdvLensServer {
    func evaluate(_ p: Evaluate.Params, _ context: RequestContext) throws -> Evaluate.Result {
        let start = DispatchTime.now().uptimeNanoseconds
        let model = try workspace.model(p.model).model
        // A streamed dataset's default chunk is what its cache holds (see ImageBatches.streamedBatch).
        let streamed = (p.dataset ?? InputDecoder.loneDataset(p.inputs)).flatMap { try? workspace.dataset($0).data }.flatMap { ImageBatches($0).streamedBatch }
        let chunk = p.batchSize ?? streamed ?? 256
        guard (1...4096).contains(chunk) else { throw ServerError.invalidParams("params.batchSize: expected 1 to 4096, got \(chunk)") }
        let (attacks, field) = try Self.evaluationAttacks(p)
        let points = try Self.curvePoints(attacks, p, model: model, field: field)
        let (images, labels, keys) = try evaluationData(p, model: model, context: context)
        try Self.checkGivenTargets(attacks, labels: labels, classes: model.classCount, field: field)
        let handles = try p.perSample == true ? workspace.handles(for: context.connection) : nil

        let ensemble = Ensemble(model)
        let runs = ensemble.executions()
        let n = images.count
        let title = attacks.count == 1 ? " under \(attacks[0].method.rawValue)" : attacks.isEmpty ? "" : " under \(attacks.count) attacks"
        context.progressBegin(title: "evaluate" + title + (points.count > 1 ? " at \(points.count) epsilons" : ""),
                              message: "\(n) images", percentage: 0)
        let units = max(1, points.count * attacks.count)   // attack runs per chunk
        var tallies = points.map { WorstCaseTally(members: $0.members.count) }
        var outcomes = points.map { _ in [WorstCase.Outcome]() }
        var done = 0, cleanCorrect = 0, stopped = false
        chunks: while done < n {
            if context.isCancelled { stopped = true; break }
            let range = done..<min(n, done + chunk)
            let x = try images.slice(range)
            let y = Array(labels[range])
            let clean = try ensemble.predict(x, runs).classes
            var finished: [WorstCase.Outcome] = []
            for (k, point) in points.enumerated() {
                let (o, halted) = try point.run(
                    on: ensemble, images: x, labels: y, cleanPredictions: clean, offset: range.lowerBound, keys: Array(keys[range]),
                    monitor: { _ in AttackMonitor(shouldStop: { context.isCancelled }) },
                    finished: { m, o in
                        let unit = k * attacks.count + m + 1
                        var soFar = tallies[k]
                        soFar.add(o)
                        var message = String(format: "%d/%d", range.upperBound, n)
                        if let e = point.epsilon { message += ", epsilon \(MaskingChecks.format(e))" }
                        if attacks.count > 1 { message += ", \(attacks[m].method.rawValue) (\(m + 1)/\(attacks.count))" }
                        message += String(format: ", clean %.1f%%, robust %.1f%%", 100 * Double(soFar.cleanCorrect) / Double(soFar.images),
                                          100 * soFar.cumulative(m))
                        context.progressReport(message: message, percentage: (100 * (done * units + range.count * unit)) / (n * units))
                    })
                if halted { stopped = true; break chunks }
                finished.append(o)
            }
            for (k, o) in finished.enumerated() {
                tallies[k].add(o)
                if p.perSample == true { outcomes[k].append(o) }
            }
            cleanCorrect += zip(clean, y).filter { $0 == $1 }.count
            done = range.upperBound
            if attacks.isEmpty {
                context.progressReport(message: String(format: "%d/%d, clean %.1f%%", done, n, 100 * Double(cleanCorrect) / Double(done)),
                                       percentage: 100 * done / n)
            }
        }
        let members = [AttackMethod.ConfigModel(name: p.model, weight: 1, fingerprint: model.fingerprint)]
        var curve: [Evaluate.CurvePoint]?
        var checks: [Evaluate.Check]?
        if !attacks.isEmpty {
            curve = try points.indices.map { k in
                try curvePoint(points[k], tallies[k], outcomes: p.perSample == true ? outcomes[k] : nil, images: images,
                               labels: labels, handles: handles, models: members, context: context)
            }
            checks = Self.maskingChecks(points, tallies)
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let out = Evaluate.Result(
            count: done, cleanAccuracy: Double(cleanCorrect) / Double(max(done, 1)),
            robustAccuracy: points.count == 1 ? tallies[0].robustAccuracy : nil,
            attack: p.attack == nil ? nil : points.first.map { AttackMethod.Config(settings: $0.members[0].config, models: members) },
            norm: points.first?.norm, independent: attacks.isEmpty ? nil : p.independent ?? false, curve: curve, checks: checks,
            fingerprint: model.fingerprint, elapsedMs: seconds * 1000, stoppedEarly: stopped)
        context.progressEnd(message: "\(done) images")
        if stopped { throw RPCError.cancelled(partial: try JSONValueCoding.encode(out)) }
        return out
    }

    /// The gradient-masking checks of the points' tallies, as the wire carries them.
    static func maskingChecks(_ points: [WorstCase], _ tallies: [WorstCaseTally]) -> [Evaluate.Check] {
        MaskingChecks.run(points.indices.map { MaskingChecks.Point(worstCase: points[$0], tally: tallies[$0]) })
            .map { Evaluate.Check(code: $0.code, epsilon: $0.epsilon, attacks: $0.attacks, message: $0.message) }
    }

    /// The attacks of `attack` or `attacks` (at most one of the two), and how errors name attack i.
    static func evaluationAttacks(_ p: Evaluate.Params) throws -> ([AttackConfig], (Int) -> String) {
        switch (p.attack, p.attacks) {
        case (nil, nil):
            for (name, given) in [("epsilons", p.epsilons != nil), ("independent", p.independent != nil), ("perSample", p.perSample != nil)] where given {
                throw ServerError.invalidParams("params.\(name): needs attack or attacks")
            }
            return ([], { _ in "params." })
        case let (one?, nil):
            return ([one], { _ in "params.attack." })
        case let (nil, list?):
            guard (1...64).contains(list.count) else {
                throw ServerError.invalidParams("params.attacks: expected 1 to 64 attacks, got \(list.count)")
            }
            return (list, { "params.attacks[\($0)]." })
        default:
            throw ServerError.invalidParams("params: give attack (one) or attacks (a list), not both")
        }
    }

    /// One WorstCase per epsilon (one at the attacks' own budgets without epsilons), every
    /// attack resolved before any work so that errors come first.
    static func curvePoints(_ attacks: [AttackConfig], _ p: Evaluate.Params, model: Model,
                                    field: @escaping (Int) -> String) throws -> [WorstCase] {
        guard !attacks.isEmpty else { return [] }
        let epsilons: [Float?]
        if let list = p.epsilons {
            guard (1...64).contains(list.count) else { throw ServerError.invalidParams("params.epsilons: expected 1 to 64 values, got \(list.count)") }
            if let bad = list.firstIndex(where: { !($0 > 0 && $0.isFinite) }) {
                throw ServerError.invalidParams("params.epsilons[\(bad)]: must be a positive number, got \(list[bad])")
            }
            epsilons = list
        } else {
            epsilons = [nil]
        }
        let spec = model.spec.input
        return try epsilons.map { e in
            do {
                return try WorstCase.point(attacks, epsilon: e, independent: p.independent ?? false, lower: spec.lower, upper: spec.upper,
                                           itemCount: model.inputShape.reduce(1, *), field: field)
            } catch let error as SettingsError {
                throw ServerError.invalidParams(error.description)
            }
        }
    }

    /// Given targets are one per image evaluated, each another class than the image's label.
    private static func checkGivenTargets(_ attacks: [AttackConfig], labels: [Int], classes: Int, field: (Int) -> String) throws {
        for (i, a) in attacks.enumerated() {
            guard case .given(let t)? = a.target else { continue }
            guard t.count == labels.count else {
                throw ServerError.invalidParams(field(i) + "target: \(t.count) targets for \(labels.count) images")
            }
            if let bad = t.indices.first(where: { t[$0] < 0 || t[$0] >= classes || t[$0] == labels[$0] }) {
                throw ServerError.invalidParams(field(i) + "target[\(bad)]: \(t[bad]) is not a class index 0..<\(classes) other than the label \(labels[bad])")
            }
        }
    }

    /// A point's wire figures; with per-sample outcomes, its rows and a handle holding the
    /// adversarials that broke images.
    private func curvePoint(_ point: WorstCase, _ t: WorstCaseTally, outcomes: [WorstCase.Outcome]?, images: ImageBatches, labels: [Int],
                            handles: HandleStore?, models: [AttackMethod.ConfigModel], context: RequestContext) throws -> Evaluate.CurvePoint {
        let figures = point.members.indices.map { m in
            Evaluate.AttackFigures(config: AttackMethod.Config(settings: point.members[m].config, models: models), attacked: t.attacked[m],
                                   broken: t.broken[m], robustAccuracy: t.alone(m), cumulativeRobustAccuracy: t.cumulative(m),
                                   successRate: t.attacked[m] == 0 ? 0 : Double(t.fooled[m]) / Double(t.attacked[m]))
        }
        let tally = Evaluate.Tally(images: t.images, cleanCorrect: t.cleanCorrect, attacked: t.attacked, broken: t.broken, fooled: t.fooled,
                                   robustAfter: t.robustAfter, brokenWhereOtherFailed: t.brokenWhereOtherFailed)
        var out = Evaluate.CurvePoint(epsilon: point.epsilon, robustAccuracy: t.robustAccuracy, attacks: figures, samples: nil, handle: nil,
                                      tally: tally)
        guard let outcomes, let handles else { return out }
        var samples: [Evaluate.Sample] = [], broken: [Int] = [], adversarial: [Tensor] = []
        for o in outcomes {
            for i in o.cleanCorrect.indices {
                let index = samples.count
                samples.append(Evaluate.Sample(index: index, label: labels[index], cleanCorrect: o.cleanCorrect[i], robust: o.robust[i],
                                               brokenBy: o.brokenBy[i], adversarialLabel: o.adversarialLabel[i], linf: o.linf[i], l2: o.l2[i]))
                if o.brokenBy[i] != nil {
                    broken.append(index)
                    adversarial.append(o.adversarial.gather([i]))
                }
            }
        }
        out.samples = samples
        if !broken.isEmpty {
            let batch = Tensor.concatenate(adversarial)
            let provenance = String(decoding: JSONText.serialize(try JSONValueCoding.encode(figures.map(\.config))), as: UTF8.self)
            let details = HandleDetails(sources: broken, adversarialLabels: broken.map { samples[$0].adversarialLabel! },
                                        success: broken.map { _ in true })
            let handle = try handles.add(kind: "evaluate worst case", images: batch, labels: broken.map { labels[$0] }, provenance: provenance,
                                         details: details, clean: try images.all(), pending: true)
            context.onReplying { try? handles.confirm(handle) }
            out.handle = handle
        }
        return out
    }

    /// The images (a whole dataset by name, read a chunk at a time, or inputs with their labels),
    /// labels, and the keys of the images' random draws in the attacks (dataset indices for a
    /// whole dataset and dataset sources, else positions; see InputDecoder).
    private func evaluationData(_ p: Evaluate.Params, model: Model, context: RequestContext) throws -> (ImageBatches, [Int], [UInt64]) {
        switch (p.dataset, p.inputs) {
        case let (name?, nil):
            let d = try labelledDataset(name, labels: p.labels, model: model)
            return (InputDecoder.datasetBatches(d, name: name, indices: nil, model: model, field: "params.dataset"), d.labels, (0..<d.count).map { UInt64($0) })
        case let (nil, inputs?):
            let batch = try InputDecoder(workspace: workspace, connection: context.connection).batches(inputs, for: model)
            return (batch.images, try Self.labels(given: p.labels, carried: batch.labels, classes: model.classCount), batch.keys)
        default:
            throw ServerError.invalidParams("params: give exactly one of dataset (a loaded dataset's name) or inputs (with labels)")
        }
    }
}
