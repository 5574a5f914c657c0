import Interpret
import Protocol
import TensorEngine

/// `inputTimesGradient`: each pixel times the class logit's gradient there.
enum InputTimesGradientExplainer: ExplanationMethod {
    static let name: ExplainPrediction.Method = "inputTimesGradient"
    static let needsInputGradient = true

    static func map(_ run: ExplainRun) throws -> ExplainedMap? {
        ExplainedMap(tensor: Explainer.inputTimesGradient(image: run.image, inputGradient: run.pass.inputGradient!))
    }
}
