import Interpret
import Protocol
import TensorEngine

/// `saliency`: |d logit / d pixel| (Captum's Saliency with abs=True); drawn as its maximum over
/// channels.
enum SaliencyExplainer: ExplanationMethod {
    static let name: ExplainPrediction.Method = "saliency"
    static let isDefault = true
    static let needsInputGradient = true

    static func map(_ run: ExplainRun) throws -> ExplainedMap? {
        ExplainedMap(tensor: Explainer.saliency(inputGradient: run.pass.inputGradient!))
    }

    static func overlay(_ map: Tensor, image: Tensor) -> Tensor { Explainer.channelMax(map) }
}
