import Interpret
import Protocol
import TensorEngine

/// `occlusion`: the drop in the class logit when a `window` slid by `stride` is replaced
/// by the baseline, averaged per pixel over the windows covering it.
enum OcclusionExplainer: ExplanationMethod {
    static let name: ExplainPrediction.Method = "occlusion"

    static func map(_ run: ExplainRun) throws -> ExplainedMap? {
        let r = run.request
        return ExplainedMap(tensor: try explainEngine {
            try run.explainer.occlusion(run.image, class: run.class, baseline: run.baseline, window: r.window, stride: r.stride,
                                        checkpoint: run.checkpoint)
        })
    }
}
