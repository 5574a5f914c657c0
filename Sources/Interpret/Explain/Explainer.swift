import NN
import TensorEngine

/// Explains one prediction of a model: which hidden units made it (ablation, gradient x
/// activation) and which pixels (saliency, input x gradient, integrated gradients, Grad-CAM,
/// occlusion). Every attribution is of the class's logit, as Captum's attributions of a
/// model that outputs logits; ablation reports the change of the class probability as well.
///
/// Reads the model only (eval mode), so several explainers may share one model.
public struct Explainer {
    public let model: Model

    public init(model: Model) { self.model = model }

    /// The layers whose units are explained when none are named: the last convolution's
    /// channels (the ReLU right after it when there is one: the channel's activation) and the
    /// units feeding the last linear layer. Only top-level layers qualify (ablation runs the
    /// model from the layer onward).
    public var defaultNeuronLayers: [String] {
        [lastConvolutionLayer, penultimateDenseLayer].compactMap { $0 }
    }

    /// The last convolution's channel layer (see `defaultNeuronLayers`): the default Grad-CAM layer.
    /// In a graph, the last top-level node with a [C, H, W] output larger than 1x1 (a ResNet's
    /// last block's ReLU: its convolutions sit inside branches, and the global pooling after it
    /// has no map left).
    public var lastConvolutionLayer: String? {
        let top = model.topLevelLayers
        if model.graph != nil {
            let maps = top.filter { model.outputShapes[$0.name]?.count == 3 }
            return (maps.last { model.outputShapes[$0.name]!.dropFirst().reduce(1, *) > 1 } ?? maps.last)?.name
        }
        guard let c = top.lastIndex(where: { $0 is Conv2d }) else {
            // No top-level convolution (e.g. inside residual blocks): the last top-level layer
            // with a [C, H, W] output.
            return top.last(where: { model.outputShapes[$0.name]?.count == 3 })?.name
        }
        if c + 1 < top.count, top[c + 1] is ReLU { return top[c + 1].name }
        return top[c].name
    }

    /// The top-level layer feeding the last linear layer, when its output is a vector.
    public var penultimateDenseLayer: String? {
        if let graph = model.graph {
            // The node the output (a linear node) reads, when the model can run from it.
            guard graph.layers[graph.output] is Linear, let v = graph.inputs[graph.output].first, v >= 0, graph.topLevel[v] else { return nil }
            return model.outputShapes[graph.layers[v].name]?.count == 1 ? graph.layers[v].name : nil
        }
        let top = model.topLevelLayers
        guard top.count >= 2, top.last is Linear else { return nil }
        let name = top[top.count - 2].name
        return model.outputShapes[name]?.count == 1 ? name : nil
    }

    /// Checks that `layer` can be explained unit by unit: a top-level layer with a [C, H, W]
    /// (channels) or [F] (units) output. Returns its resolved name.
    public func checkUnitLayer(_ layer: String) throws -> String {
        let k = try model.topLevelIndex(of: layer)
        let name = model.root.layers[k].name
        let shape = model.outputShapes[name]!
        guard shape.count == 3 || shape.count == 1 else {
            throw ExplainError.invalid(field: "layer", message: "\"\(layer)\" outputs \(shape); units are channels of a [C, H, W] output or entries of a vector")
        }
        return name
    }

    /// The one-hot gradient seed selecting `cls` at the logits, for a batch of `n`.
    func classSeed(_ cls: Int, batch n: Int) -> Tensor {
        var seed = Tensor(shape: [n, model.classCount])
        for i in 0..<n { seed.data[i * model.classCount + cls] = 1 }
        return seed
    }

    /// One forward and one backward of `image` ([1, C, H, W]) for the logit of `cls` (nil: the
    /// predicted class): the logits, the activations of `layers` and the gradient of the logit
    /// at them and (when asked) at the input.
    public func gradientPass(_ image: Tensor, class requested: Int?, layers: [String], inputGradient: Bool) throws -> GradientPass {
        try checkImage(image)
        if let requested { try checkClass(requested) }
        let run = Execution(mode: .eval)
        let out = try model.forward(image, run, keep: Set(layers), record: true)
        let cls = requested ?? out.logits.argmaxRows()[0]
        let g = try model.backward(out.trace!, seeds: ["logits": classSeed(cls, batch: 1)], input: inputGradient, parameters: false,
                                   observe: Set(layers), run)
        var gradients: [String: Tensor] = [:]
        for l in layers { gradients[l] = g.layers[l] ?? Tensor(shape: out.activations[l]!.shape) }
        return GradientPass(class: cls, logits: out.logits, activations: out.activations, layerGradients: gradients, inputGradient: g.input)
    }

    /// `gradientPass` for a batch ([N, C, H, W]) in one forward and one backward: each image's
    /// row of the logits is seeded at its own class (`classes[i]`, nil: its predicted one).
    /// The model runs in eval mode, where images do not interact, so image i's gradients are
    /// those of its own pass (ExplainBatchTests checks them against one-image passes).
    public func gradientPasses(_ images: Tensor, classes requested: [Int?], layers: [String], inputGradient: Bool) throws -> [GradientPass] {
        let n = images.batch
        guard images.rank == 4, n >= 1, Array(images.shape.dropFirst()) == model.inputShape else {
            throw ExplainError.invalid(field: "inputs", message: "expected images of shape \(model.inputShape), got \(images.shape)")
        }
        guard requested.count == n else {
            throw ExplainError.invalid(field: "classes", message: "\(requested.count) classes for \(n) images")
        }
        for c in requested.compactMap({ $0 }) { try checkClass(c) }
        let run = Execution(mode: .eval)
        let out = try model.forward(images, run, keep: Set(layers), record: true)
        let predicted = out.logits.argmaxRows()
        let classes = (0..<n).map { requested[$0] ?? predicted[$0] }
        var seed = Tensor(shape: [n, model.classCount])
        for i in 0..<n { seed.data[i * model.classCount + classes[i]] = 1 }
        let g = try model.backward(out.trace!, seeds: ["logits": seed], input: inputGradient, parameters: false, observe: Set(layers), run)
        return (0..<n).map { i in
            var activations: [String: Tensor] = [:], gradients: [String: Tensor] = [:]
            for l in layers {
                let a = out.activations[l]!
                activations[l] = a.slice(i..<(i + 1))
                gradients[l] = g.layers[l]?.slice(i..<(i + 1)) ?? Tensor(shape: [1] + Array(a.shape.dropFirst()))
            }
            return GradientPass(class: classes[i], logits: out.logits.slice(i..<(i + 1)), activations: activations, layerGradients: gradients,
                                inputGradient: g.input?.slice(i..<(i + 1)))
        }
    }

    func checkImage(_ image: Tensor) throws {
        guard image.rank == 4, image.batch == 1, Array(image.shape.dropFirst()) == model.inputShape else {
            throw ExplainError.invalid(field: "input", message: "expected one image of shape \(model.inputShape), got \(image.shape)")
        }
    }

    func checkClass(_ cls: Int) throws {
        guard cls >= 0 && cls < model.classCount else {
            throw ExplainError.invalid(field: "class", message: "\(cls) is not a class index 0..<\(model.classCount)")
        }
    }
}

/// The record of `Explainer.gradientPass`.
public struct GradientPass {
    /// The class whose logit was differentiated.
    public var `class`: Int
    /// [1, classes].
    public var logits: Tensor
    /// Per layer, its output [1, ...].
    public var activations: [String: Tensor]
    /// Per layer, d(logit of the class)/d(its output).
    public var layerGradients: [String: Tensor]
    /// d(logit of the class)/d(input pixels), when asked for.
    public var inputGradient: Tensor?

    public var probabilities: [Float] { logits.softmaxRows().data }
}

/// A request the explainer cannot serve, naming the parameter at fault (without "params.").
public enum ExplainError: Error, CustomStringConvertible {
    case invalid(field: String, message: String)

    public var field: String { if case .invalid(let f, _) = self { return f }; return "" }
    public var description: String {
        switch self {
        case let .invalid(field, message): return "\(field): \(message)"
        }
    }
}
