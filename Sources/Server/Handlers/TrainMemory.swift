import NN
import Training

/// A training step's activations checked against the memory budget before the step starts.
///
/// Why: a step records every layer's output for the backward pass, for the whole batch at
/// once (batch normalisation's statistics are the whole batch's, so the batch is not split):
/// MobileNetV2-224's consistent-loss step holds 116 MB per image, 7.6 GB at batch 64 and 15 GB
/// at 128, so batch 256 (30 GB) would have had the daemon killed by the system on a 24 GiB
/// machine. The estimate is `bytesPerValue` bytes per activation value per recorded pass,
/// measured on that step; the budget is what `advlensd --memory-limit` leaves beside the
/// resident models and datasets.
extension AdvLensServer {
    /// Bytes a recorded train-mode pass holds per activation value (`Model.footprint`):
    /// each layer's output, batch normalisation's saved normalised input, a ReLU's mask, the
    /// backward's gradients. MobileNetV2-224: 116 MB per image (7.55 GB at batch 64, 14.96 GB at
    /// 128) over two passes of 13.0 M values.
    static let bytesPerValue = 4.5

    func admitActivations(of objective: TrainingObjective, batch: Int, model: Model) throws {
        let perImage = Int(Double(model.footprint.values * objective.recordedPasses) * Self.bytesPerValue)
        let needed = perImage * batch
        let headroom = workspace.headroom()
        guard needed > headroom else { return }
        let fits = headroom / max(1, perImage)
        throw ServerError.resourceLimit(
            "params.batchSize: a \(objective.name) training step on \(batch) images holds about \(MemoryBudget.megabytes(needed)) of "
            + "activations (\(MemoryBudget.megabytes(perImage)) per image), more than the \(MemoryBudget.megabytes(headroom)) the memory "
            + "budget leaves (advlensd --memory-limit \(MemoryBudget.megabytes(workspace.memoryBudget.limitBytes)), less what is resident); "
            + (fits > 0 ? "a batch of at most \(fits) image\(fits == 1 ? "" : "s") fits" : "no batch fits: unload a model (model/unload) or raise --memory-limit"))
    }
}
