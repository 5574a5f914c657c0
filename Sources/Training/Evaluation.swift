import Data
import NN
import TensorEngine

/// Clean accuracy and predictions of a model on a dataset, in eval mode and batches.
public enum Evaluation {
    /// Predicted class of every item.
    public static func predictions(_ model: Model, on data: Dataset, batchSize: Int = 256) throws -> [Int] {
        let run = Execution(mode: .eval)
        var out: [Int] = []
        out.reserveCapacity(data.count)
        for start in stride(from: 0, to: data.count, by: batchSize) {
            let x = data.images.slice(start..<min(data.count, start + batchSize))
            out += try model.forward(x, run).logits.argmaxRows()
        }
        return out
    }

    /// Fraction of items predicted correctly.
    public static func accuracy(_ model: Model, on data: Dataset, batchSize: Int = 256) throws -> Double {
        guard data.count > 0 else { return 0 }
        let p = try predictions(model, on: data, batchSize: batchSize)
        return Double(zip(p, data.labels).filter { $0 == $1 }.count) / Double(data.count)
    }
}
