import Interpret
import Protocol
import TensorEngine

/// `influence`: each listed unit's effect on the class by ablation (the unit zeroed): the drop in
/// the class's probability and logit. With it, units are ranked by the logit drop.
enum InfluenceExplainer: ExplanationMethod {
    static let name: ExplainPrediction.Method = "influence"
    static let isDefault = true
    static let unitScore: UnitScore? = .ablation
}
