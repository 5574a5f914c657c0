import Attacks
import Data
import Foundation
import NN
import Protocol
import Settings
import RPC
import TensorEngine

/// evaluate: clean and robust accuracy in chunks, with progress and cancel between chunks
/// (and inside an attack, which then stops; that chunk is left out of the figures).
extension AdvLensServer {
    func evaluate(_ p: Evaluate.Params, _ context: RequestContext) throws -> Evaluate.Result {
        let start = DispatchTime.now().uptimeNanoseconds
        let model = try workspace.model(p.model).model
        let chunk = p.batchSize ?? 256
        guard (1...4096).contains(chunk) else { throw ServerError.invalidParams("params.batchSize: expected 1 to 4096, got \(chunk)") }
        let config = try p.attack.map { try Self.resolvedAttack($0, prefix: "params.attack.") }
        let (images, labels) = try evaluationData(p, model: model, context: context)

        let ensemble = Ensemble(model)
        let runs = ensemble.executions()
        let n = images.batch
        context.progressBegin(title: "evaluate" + (config.map { " under \($0.method.rawValue)" } ?? ""), message: "\(n) images", percentage: 0)
        var done = 0, cleanCorrect = 0, robustCorrect = 0.0, attacked = 0
        var stopped = false
        while done < n {
            if context.isCancelled { stopped = true; break }
            let range = done..<min(n, done + chunk)
            let x = range.count == n ? images : images.slice(range)
            let y = Array(labels[range])
            let clean = try ensemble.predict(x, runs).classes
            if let config {
                let r = try Attack.run(config, on: ensemble, images: x, labels: y, cleanPredictions: clean,
                                       monitor: AttackMonitor(shouldStop: { context.isCancelled }))
                if r.stoppedEarly { stopped = true; break }
                robustCorrect += r.robustAccuracy * Double(range.count)   // a fraction of samples, in images
                attacked += range.count
            }
            cleanCorrect += zip(clean, y).filter { $0 == $1 }.count
            done = range.upperBound
            var message = String(format: "%d/%d, clean %.1f%%", done, n, 100 * Double(cleanCorrect) / Double(done))
            if config != nil { message += String(format: ", robust %.1f%%", 100 * robustCorrect / Double(attacked)) }
            context.progressReport(message: message, percentage: 100 * done / n)
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let wireAttack = config.map { AttackMethod.Config(settings: $0, models: [.init(name: p.model, weight: 1, fingerprint: model.fingerprint)]) }
        let out = Evaluate.Result(count: done, cleanAccuracy: Double(cleanCorrect) / Double(max(done, 1)),
                                  robustAccuracy: config == nil ? nil : robustCorrect / Double(max(attacked, 1)), attack: wireAttack,
                                  fingerprint: model.fingerprint, elapsedMs: seconds * 1000, stoppedEarly: stopped)
        context.progressEnd(message: "\(done) images")
        if stopped { throw RPCError.cancelled(partial: try JSONValueCoding.encode(out)) }
        return out
    }

    /// The images and labels: a whole dataset by name, or inputs with their labels.
    private func evaluationData(_ p: Evaluate.Params, model: Model, context: RequestContext) throws -> (Tensor, [Int]) {
        switch (p.dataset, p.inputs) {
        case let (name?, nil):
            let d = try labelledDataset(name, labels: p.labels, model: model)
            return (d.images, d.labels)
        case let (nil, inputs?):
            let batch = try InputDecoder(workspace: workspace, connection: context.connection).decode(inputs, for: model)
            return (batch.images, try Self.labels(given: p.labels, carried: batch.labels, classes: model.classCount))
        default:
            throw ServerError.invalidParams("params: give exactly one of dataset (a loaded dataset's name) or inputs (with labels)")
        }
    }
}
