import NN
import TensorEngine

/// The influence of every unit of one layer on one class, for one image.
public struct LayerInfluence {
    public var layer: String
    /// Channels of a [C, H, W] output (true) or entries of a vector.
    public var isChannels: Bool
    /// Per unit: its activation (the mean over space for a channel).
    public var activation: [Float]
    /// Per unit, by ablation: p(class | x) - p(class | x with the unit zeroed), and the same
    /// for the logit. Nil when ablation was not asked for.
    public var probabilityDrop: [Float]?
    public var logitDrop: [Float]?
    /// Per unit: Σ over its positions of d(logit)/d(activation) · activation. Nil when not asked.
    public var gradientTimesActivation: [Float]?

    public var unitCount: Int { activation.count }

    /// The figure units are ranked by: the logit drop when ablation ran (probabilities
    /// saturate near 1, logits do not), else gradient x activation.
    public var score: [Float] { logitDrop ?? gradientTimesActivation ?? activation }
}

extension Explainer {
    /// Influence of the units of `layer`: gradient x activation from `pass` (the image's
    /// gradient pass, which must have observed `layer`) and, with `ablation`, the exact change
    /// of the class's probability and logit when each unit is zeroed.
    public func influence(of layer: String, pass: GradientPass, class cls: Int, ablation: Bool, gradientTimesActivation: Bool) throws -> LayerInfluence {
        guard let a = pass.activations[layer], let g = pass.layerGradients[layer] else {
            throw ExplainError.invalid(field: "layer", message: "\"\(layer)\" was not recorded by the gradient pass")
        }
        let units = a.shape[1], plane = a.itemCount / units
        var mean = [Float](repeating: 0, count: units)
        var gxa = [Float](repeating: 0, count: units)
        a.data.withUnsafeBufferPointer { av in
            g.data.withUnsafeBufferPointer { gv in
                for u in 0..<units {
                    var s: Float = 0, p: Float = 0
                    for i in (u * plane)..<((u + 1) * plane) { s += av[i]; p += av[i] * gv[i] }
                    mean[u] = s / Float(plane)
                    gxa[u] = p
                }
            }
        }
        var result = LayerInfluence(layer: layer, isChannels: a.rank == 4, activation: mean, probabilityDrop: nil, logitDrop: nil,
                                    gradientTimesActivation: gradientTimesActivation ? gxa : nil)
        if ablation {
            let drops = try ablate(layer: layer, activation: a, baseLogits: pass.logits, class: cls)
            result.probabilityDrop = drops.probability
            result.logitDrop = drops.logit
        }
        return result
    }

    /// Most values one batch of ablated copies may hold (keeps memory bounded on big layers).
    static let ablationBatchValues = 1 << 22

    /// For each unit of `activation` (the output of top-level `layer`, batch 1), the class's
    /// probability and logit with that unit zeroed, subtracted from `baseLogits`' own. Copies
    /// with one unit zeroed each go through the layers after `layer` together, so the whole
    /// layer costs one pass (or a few for very large layers). A unit that is already zero
    /// everywhere changes nothing: its drop is exactly 0 and it is not run.
    public func ablate(layer: String, activation a: Tensor, baseLogits: Tensor, class cls: Int) throws -> (probability: [Float], logit: [Float]) {
        let units = a.shape[1], per = a.itemCount, plane = per / units
        let classes = model.classCount
        let baseLogit = baseLogits.data[cls]
        let baseProbability = baseLogits.softmaxRows().data[cls]
        var probabilityDrop = [Float](repeating: 0, count: units)
        var logitDrop = [Float](repeating: 0, count: units)
        let live = (0..<units).filter { u in a.data[(u * plane)..<((u + 1) * plane)].contains { $0 != 0 } }
        let chunk = max(1, min(live.count, Self.ablationBatchValues / max(per, 1)))
        let run = Execution(mode: .eval)
        var start = 0
        while start < live.count {
            let group = Array(live[start..<min(live.count, start + chunk)])
            var shape = a.shape
            shape[0] = group.count
            let copies = Tensor(uninitializedShape: shape) { out in
                a.data.withUnsafeBufferPointer { src in
                    for (k, u) in group.enumerated() {
                        let base = out.baseAddress! + k * per
                        base.update(from: src.baseAddress!, count: per)
                        (base + u * plane).update(repeating: 0, count: plane)
                    }
                }
            }
            let logits = try model.forward(from: layer, copies, run).logits
            let probabilities = logits.softmaxRows()
            for (k, u) in group.enumerated() {
                logitDrop[u] = baseLogit - logits.data[k * classes + cls]
                probabilityDrop[u] = baseProbability - probabilities.data[k * classes + cls]
            }
            start += group.count
        }
        return (probabilityDrop, logitDrop)
    }
}
