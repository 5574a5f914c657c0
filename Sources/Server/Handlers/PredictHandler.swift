import Data
import Foundation
import NN
import Protocol
import RPC
import TensorEngine

/// predict: top-K classes and probabilities for a batch, computed in slices of
/// `predictSlice` so progress can be reported and a cancel honoured between slices (a
/// streamed dataset's slices are as many images as its cache holds: `ImageBatches.streamedBatch`).
extension AdvLensServer {
    static let predictSlice = 256

    func registerPredict() {
        register(Predict.self, access: { .reads([Self.modelKey($0.model)] + Self.datasetKeys($0.inputs)) }) { [unowned self] p, context in
            try predict(p, context)
        }
    }

    private func predict(_ p: Predict.Params, _ context: RequestContext) throws -> Predict.Result {
        let start = DispatchTime.now().uptimeNanoseconds
        let model = try workspace.model(p.model).model
        let classes = model.classCount
        let topK = p.topK ?? 3
        guard topK >= 1 else { throw ServerError.invalidParams("params.topK: expected a positive integer, got \(topK)") }
        let batch = try InputDecoder(workspace: workspace, connection: context.connection).batches(p.inputs, for: model)
        var labels = batch.labels
        if let given = p.labels {
            guard given.count == batch.images.count else {
                throw ServerError.invalidParams("params.labels: \(given.count) labels for \(batch.images.count) inputs")
            }
            if let bad = given.firstIndex(where: { $0 < 0 || $0 >= classes }) {
                throw ServerError.invalidParams("params.labels[\(bad)]: \(given[bad]) is not a class index 0..<\(classes)")
            }
            labels = given.map { $0 }
        }
        let n = batch.images.count
        let slice = batch.images.streamedBatch ?? Self.predictSlice
        let slices = (n + slice - 1) / slice
        if slices > 1 { context.progressBegin(title: "predict", message: "\(n) inputs", percentage: 0) }
        let run = Execution(mode: .eval)
        var logits: [Tensor] = []
        for s in 0..<slices {
            try context.cancellation.checkCancelled()
            let range = (s * slice)..<min(n, (s + 1) * slice)
            let x = try batch.images.slice(range)
            logits.append(try model.forward(x, run).logits)
            if slices > 1 { context.progressReport(message: "\(range.upperBound)/\(n)", percentage: 100 * range.upperBound / n) }
        }
        if slices > 1 { context.progressEnd(message: "done") }
        let all = logits.count == 1 ? logits[0] : Tensor.concatenate(logits)
        let probabilities = all.softmaxRows()
        let names = model.spec.classes
        var predictions: [Predict.Prediction] = []
        predictions.reserveCapacity(n)
        var correct = 0, known = 0
        for i in 0..<n {
            let row = Array(probabilities.data[(i * classes)..<((i + 1) * classes)])
            let order = row.indices.sorted { row[$0] > row[$1] || (row[$0] == row[$1] && $0 < $1) }
            let top = order.prefix(min(topK, classes)).map { c in
                Predict.ClassScore(index: c, name: c < names.count ? names[c] : String(c), probability: row[c],
                                   logit: all.data[i * classes + c])
            }
            if let y = labels[i] {
                known += 1
                if y == order[0] { correct += 1 }
            }
            predictions.append(Predict.Prediction(predicted: order[0], predictedName: top[0].name, label: labels[i], top: top,
                                                  logits: p.returnLogits == true ? Array(all.data[(i * classes)..<((i + 1) * classes)]) : nil))
        }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        return Predict.Result(predictions: predictions, accuracy: known == n ? Double(correct) / Double(n) : nil, count: n, elapsedMs: elapsed)
    }
}
