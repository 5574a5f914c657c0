import Attacks
import Data
import Foundation
import NN
import Protocol
import Settings
import RPC
import TensorEngine
import Training

/// trainStep (write access on the model: the scheduler holds reads back while weights
/// change) and evaluate (reads). The model's training state (`ResidentModel.training`) lives
/// between calls; the weights fingerprint, which caches key on, is recomputed from the
/// weights on every read, so it changes with every applied step.
extension AdvLensServer {
    func registerTraining() {
        register(TrainStep.self, access: { .write(Self.modelKey($0.model)) }) { [unowned self] p, context in
            try trainStep(p, context)
        }
        register(Evaluate.self, access: { p in
            .reads([Self.modelKey(p.model)] + (p.dataset.map { [Self.datasetKey($0)] } ?? []) + (p.inputs.map(Self.datasetKeys) ?? []))
        }) { [unowned self] p, context in
            try evaluate(p, context)
        }
    }

    /// Most steps one call may ask for (a long run is several calls, or one cancellable one).
    static let maxTrainSteps = 100_000

    private func trainStep(_ p: TrainStep.Params, _ context: RequestContext) throws -> TrainStep.Result {
        let start = DispatchTime.now().uptimeNanoseconds
        let resident = try workspace.model(p.model)
        let model = resident.model
        // Everything checkable is checked before the first change.
        let objective = try trainingParameter { try Self.objective(p.objective, model: model) }
        let steps = p.steps ?? 1
        guard (1...Self.maxTrainSteps).contains(steps) else {
            throw ServerError.invalidParams("params.steps: expected 1 to \(Self.maxTrainSteps), got \(steps)")
        }
        let optimizer = p.optimizer, schedule = p.schedule   // checked and resolved as they were decoded
        let seed = p.seed ?? 0
        let source = try batchSource(p, model: model, context: context)
        try admitActivations(of: objective, batch: source.batchSize, model: model)

        // The resident state, or a new one (SGD with torch's defaults, lr 0.01, unless given).
        let session: TrainingSession
        var reset = false
        if let existing = resident.training {
            session = existing
            if let optimizer { reset = session.setOptimizer(optimizer) }
        } else {
            session = TrainingSession(model: model, optimizer: try optimizer ?? OptimizerConfig(kind: .sgd))
            resident.training = session
        }
        if let schedule { session.schedule = schedule }
        if case let .dataset(d, batchSize) = source,
           !(session.cursor?.continues(dataset: d.name, count: d.count, batchSize: batchSize, seed: seed) ?? false) {
            session.cursor = DataCursor(dataset: d.name, count: d.count, batchSize: batchSize, seed: seed)
        }

        context.progressBegin(title: "trainStep \(objective.name)", message: "\(steps) steps", percentage: 0)
        var history: [TrainStep.StepReport] = []
        var sums: (loss: Double, parts: [String: Double], clean: Double, adversarial: Double) = (0, [:], 0, 0)
        var taken = 0
        func result() throws -> TrainStep.Result {
            let n = Double(max(taken, 1))
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            return TrainStep.Result(
                steps: taken, stepCount: session.stepCount, fingerprint: model.fingerprint, loss: Float(sums.loss / n),
                parts: sums.parts.mapValues { Float($0 / n) },
                cleanAccuracy: history.last?.cleanAccuracy == nil ? nil : sums.clean / n,
                adversarialAccuracy: history.last?.adversarialAccuracy == nil ? nil : sums.adversarial / n,
                history: Array(history.suffix(1000)), objective: Self.wire(objective), optimizer: session.optimizerConfig,
                schedule: session.schedule, optimizerReset: reset, batchPosition: source.isStream ? session.cursor?.position : nil,
                elapsedMs: seconds * 1000, stepsPerSecond: Double(taken) / max(seconds, 1e-9))
        }
        var lastReport = DispatchTime.now().uptimeNanoseconds
        while taken < steps {
            if context.isCancelled { break }
            let (x, y) = try source.batch(session.cursor)
            let report: TrainingSession.StepReport?
            do {
                report = try session.step(images: x, labels: y, objective: objective, seed: seed, shouldStop: { context.isCancelled })
            } catch let e as TrainingError {
                throw ServerError.invalidParams("params.\(e.description)")
            } catch let e as NonFiniteStep {
                throw ServerError.invalidParams("params.optimizer: model step \(e.step) (step \(taken + 1) of this call) made \(e.what) non-finite, "
                    + "so it was rolled back whole; \(taken) step\(taken == 1 ? "" : "s") of this call were applied. A smaller learningRate should help.")
            }
            guard let report else { break }   // stopped before the step changed anything
            if case .dataset = source { session.cursor!.position += 1 }
            taken += 1
            let wire = TrainStep.StepReport(step: report.step, learningRate: report.learningRate, loss: report.loss, parts: report.parts,
                                            cleanAccuracy: report.cleanAccuracy, adversarialAccuracy: report.adversarialAccuracy)
            history.append(wire)
            if history.count > 2000 { history.removeFirst(1000) }
            sums.loss += Double(report.loss)
            for (k, v) in report.parts { sums.parts[k, default: 0] += Double(v) }
            sums.clean += report.cleanAccuracy ?? 0
            sums.adversarial += report.adversarialAccuracy ?? 0
            let now = DispatchTime.now().uptimeNanoseconds
            if taken == steps || now - lastReport > 100_000_000 {
                lastReport = now
                var message = String(format: "step %d/%d, loss %.4f", taken, steps, report.loss)
                if let a = report.cleanAccuracy { message += String(format: ", clean %.0f%%", a * 100) }
                if let a = report.adversarialAccuracy { message += String(format: ", adversarial %.0f%%", a * 100) }
                context.progressReport(message: message, percentage: 100 * taken / steps)
            }
        }
        let out = try result()
        context.progressEnd(message: "\(taken) steps, loss \(String(format: "%.4f", out.loss))")
        if taken < steps { throw RPCError.cancelled(partial: try JSONValueCoding.encode(out)) }
        return out
    }

    /// Where a call's batches come from.
    private enum BatchSource {
        case dataset(Dataset, batchSize: Int)
        case fixed(Tensor, [Int])

        var isStream: Bool { if case .dataset = self { return true }; return false }

        /// Images per step.
        var batchSize: Int {
            switch self {
            case let .dataset(_, n): return n
            case let .fixed(x, _): return x.batch
            }
        }

        func batch(_ cursor: DataCursor?) throws -> (Tensor, [Int]) {
            switch self {
            case let .dataset(d, _): return try d.read(cursor!.indices)
            case let .fixed(x, y): return (x, y)
            }
        }
    }

    private func batchSource(_ p: TrainStep.Params, model: Model, context: RequestContext) throws -> BatchSource {
        switch (p.dataset, p.inputs) {
        case let (name?, nil):
            let d = try labelledDataset(name, labels: p.labels, model: model)
            let batchSize = p.batchSize ?? 64
            guard (1...4096).contains(batchSize) else { throw ServerError.invalidParams("params.batchSize: expected 1 to 4096, got \(batchSize)") }
            return .dataset(d, batchSize: batchSize)
        case let (nil, inputs?):
            guard p.batchSize == nil else { throw ServerError.invalidParams("params.batchSize: only with dataset (inputs are one batch)") }
            let batch = try InputDecoder(workspace: workspace, connection: context.connection).decode(inputs, for: model)
            let labels = try Self.labels(given: p.labels, carried: batch.labels, classes: model.classCount)
            return .fixed(batch.images, labels)
        default:
            throw ServerError.invalidParams("params: give exactly one of dataset (seeded batches) or inputs (one batch, with labels)")
        }
    }

    /// A loaded dataset that `model` can train or be evaluated on: its images of the model's
    /// input shape, every label a class of the model (labels come with it, never with the request).
    func labelledDataset(_ name: String, labels: [Int]?, model: Model) throws -> Dataset {
        guard labels == nil else { throw ServerError.invalidParams("params.labels: a dataset carries its labels; give labels with inputs") }
        let d = try workspace.dataset(name).data
        guard d.imageShape == model.inputShape else {
            throw ServerError.shapeMismatch("params.dataset: \"\(name)\" holds \(d.imageShape) images, the model takes \(model.inputShape)")
        }
        if let bad = d.labels.firstIndex(where: { !(0..<model.classCount).contains($0) }) {
            throw ServerError.invalidParams("params.dataset: label \(d.labels[bad]) of image \(bad) is not a class of the model")
        }
        return d
    }

    /// Labels given with the request, else those the sources carry (all must be known).
    static func labels(given: [Int]?, carried: [Int?], classes: Int) throws -> [Int] {
        if let given {
            guard given.count == carried.count else { throw ServerError.invalidParams("params.labels: \(given.count) labels for \(carried.count) inputs") }
            if let bad = given.firstIndex(where: { !(0..<classes).contains($0) }) {
                throw ServerError.invalidParams("params.labels[\(bad)]: \(given[bad]) is not a class index 0..<\(classes)")
            }
            return given
        }
        guard let missing = carried.firstIndex(where: { $0 == nil }) else { return carried.map { $0! } }
        throw ServerError.invalidParams("params.labels: input \(missing) has no label; give labels for tensor, PNG or path inputs")
    }

    /// Runs a conversion whose TrainingError names a field under params.
    private func trainingParameter<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as TrainingError { throw ServerError.invalidParams("params.\(e.description)") }
    }
}
