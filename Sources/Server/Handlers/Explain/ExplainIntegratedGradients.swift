import Interpret
import Protocol
import TensorEngine

/// `integratedGradients`: the gradient integrated along the path from the baseline to the
/// image (`steps` points, `integrationMethod`'s rule), with the completeness gap.
enum IntegratedGradientsExplainer: ExplanationMethod {
    static let name: ExplainPrediction.Method = "integratedGradients"

    static func map(_ run: ExplainRun) throws -> ExplainedMap? {
        let r = run.request
        let (map, delta) = try explainEngine {
            try run.explainer.integratedGradients(run.image, class: run.class, baseline: run.baseline, steps: r.steps, rule: r.rule,
                                                  checkpoint: run.checkpoint)
        }
        return ExplainedMap(tensor: map) { $0.steps = r.steps; $0.integrationMethod = r.rule; $0.convergenceDelta = delta }
    }
}
