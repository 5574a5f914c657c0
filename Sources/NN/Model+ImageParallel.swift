import TensorEngine

/// An inference pass over a batch run image by image on each core, instead of layer by layer
/// with every layer split between the cores.
///
/// Why: layer by layer, a batch's activations are written out and read back whole between
/// layers (MobileNetV2-224's first expansion is 308 MB at batch 64, ten times the last-level
/// cache), so a forward pass at batch 64 spent much of its time waiting on memory, and every
/// layer ended in a barrier. One image's activations stay in the caches from layer to layer,
/// and the cores meet once per image. The results are the same bits: a sample's result never
/// depends on the batch it runs in (every product on AdvLens' own GEMM, normalisation with
/// running statistics in eval mode).
///
/// Only where nothing but the logits is asked for, in eval mode: a recorded pass (a backward
/// follows) and kept activations take the batch whole.
extension Model {
    /// Images per task: one keeps the activations smallest; the products of small planes (7×7
    /// at 224) then have few columns, which every image pays alike.
    static let imagesPerTask = 1
    /// Test hooks: inference passes run layer by layer, or image by image whatever the model
    /// (tests compare the two).
    nonisolated(unsafe) static var forceLayerByLayer = false
    nonisolated(unsafe) static var forceImageByImage = false
    /// Test hook: passes that ran image by image.
    static let imageParallelCalls = CallCounter()

    /// Multiply-adds per activation value below which a model runs image by image: its layers
    /// wait on memory more than they compute (MobileNetV2-224: 23; its forward at batch 64 took
    /// 0.87-0.91x the time, and a daemon serving only forwards peaked at 184 MB instead of 628).
    /// ResNet-18 has 313-316, and there the products of one image's
    /// small planes lost more than the caches gave back (ResNet-18-224 1.09x the time,
    /// ResNet-18-32 1.66x).
    static let imageParallelIntensity = 100
    /// Activation values of one image from which a model may run image by image: one image
    /// alone then fills the caches (a 224-pixel input), while the batches of small inputs
    /// (MNIST, 32-pixel images) fit them whole and need several images per product.
    static let imageParallelValues = 1 << 20

    /// Whether inference passes run image by image (`imageParallelIntensity`, `imageParallelValues`).
    var runsImageByImage: Bool {
        let work = footprint
        return work.values >= Model.imageParallelValues && work.multiplyAdds < Model.imageParallelIntensity * work.values
    }

    /// The logits of `x` image by image on the cores, or nil where the batch runs whole (a
    /// model that computes more than it moves, fewer than two images per core, a single core,
    /// or inside a parallel region).
    func imageParallelLogits(_ x: Tensor, _ run: Execution) -> Tensor? {
        let n = x.batch
        let workers = Parallel.workers(forTasks: n)
        guard run.mode == .eval, workers > 1, n >= 2 * workers, !Model.forceLayerByLayer,
              Model.forceImageByImage || runsImageByImage else { return nil }
        Model.imageParallelCalls.record()
        let size = Model.imagesPerTask, tasks = (n + size - 1) / size
        let per = x.count / n, item = Array(x.shape.dropFirst())
        // One execution (mode, scratch) per core, for this pass.
        let executions = (0..<workers).map { _ in Execution(mode: .eval, seed: run.itemSeed) }
        var parts = [Tensor?](repeating: nil, count: tasks)
        parts.withUnsafeMutableBufferPointer { out in
            Parallel.forEachTask(tasks, maxWorkers: workers) { t, worker in
                let lo = t * size, hi = min(n, lo + size)
                let slice = Tensor(shape: [hi - lo] + item, data: Array(x.data[(lo * per)..<(hi * per)]))
                out[t] = root.forward(normalize(slice), executions[worker], nil)
            }
        }
        return Tensor.concatenate(parts.map { $0! })
    }
}
