import Protocol
import Settings

/// The explanation methods, by wire name, in the order capabilities list them: one line each.
enum ExplainerRegistry {
    static let all: [any ExplanationMethod.Type] = [
        InfluenceExplainer.self,
        GradientTimesActivationExplainer.self,
        SaliencyExplainer.self,
        InputTimesGradientExplainer.self,
        IntegratedGradientsExplainer.self,
        GradCamExplainer.self,
        OcclusionExplainer.self,
    ]

    static var names: [String] { all.map { $0.name.rawValue } }

    /// The method named `name`, or the error every unknown name gets, at `field`.
    static func method(_ name: ExplainPrediction.Method, field: String) throws -> any ExplanationMethod.Type {
        guard let m = all.first(where: { $0.name == name }) else { throw SettingsError.unknown(field, name.rawValue, known: names) }
        return m
    }
}
