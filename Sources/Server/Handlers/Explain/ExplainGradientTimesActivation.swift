import Interpret
import Protocol
import TensorEngine

/// `gradientTimesActivation`: each unit's activation times the class logit's gradient there
/// (shown per unit; units are ranked by it unless `influence` is asked for too).
enum GradientTimesActivationExplainer: ExplanationMethod {
    static let name: ExplainPrediction.Method = "gradientTimesActivation"
    static let isDefault = true
    static let unitScore: UnitScore? = .gradientTimesActivation
}
