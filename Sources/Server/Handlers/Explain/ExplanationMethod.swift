import Interpret
import Protocol
import Settings
import TensorEngine

/// One explanation method of explainPrediction: its wire name, whether it runs by default,
/// what it asks of the one gradient pass, its own parameter checks, and its output — a unit
/// score (ranking each layer's units) or a pixel map. Each method is one file in this folder;
/// `ExplainerRegistry` lists them, so adding one is that file and one line there.
protocol ExplanationMethod {
    static var name: ExplainPrediction.Method { get }
    /// Whether a request that names no methods runs it (default false).
    static var isDefault: Bool { get }
    /// Whether it reads the gradient at the input from the shared pass (default false).
    static var needsInputGradient: Bool { get }
    /// How it scores units, for a method that ranks each layer's units (default nil: a pixel map).
    static var unitScore: UnitScore? { get }
    /// Checks and fills in its own parameters (default: none).
    static func prepare(_ request: inout AdvLensServer.ExplainRequest, _ params: ExplainPrediction.Params, _ explainer: Explainer) throws
    /// Its pixel map, from the shared pass (default nil).
    static func map(_ run: ExplainRun) throws -> ExplainedMap?
    /// The map as drawn over the image in a PNG (default: as it is).
    static func overlay(_ map: Tensor, image: Tensor) -> Tensor
}

/// How a unit-ranking method scores units. Both come from one pass per layer
/// (`Explainer.influence`); with ablation asked for, units are ranked by the logit drop.
enum UnitScore: Sendable {
    /// Zeroing the unit: the drop in the class's probability and logit.
    case ablation
    /// The unit's gradient x activation (shown per unit).
    case gradientTimesActivation

    /// What units are ranked by when this is the score they are ranked by.
    var rankedBy: String { self == .ablation ? "logitDrop" : "gradientTimesActivation" }
    /// The words the summary sentences use.
    var words: String { self == .ablation ? "logit drop" : "gradient x activation" }
}

/// What a pixel-map method works from: the image, the class, the shared gradient pass and the
/// checked request.
struct ExplainRun {
    let explainer: Explainer
    let image: Tensor
    let `class`: Int
    let baseline: Tensor
    let pass: GradientPass
    let request: AdvLensServer.ExplainRequest
    /// Throws when the request was cancelled (long methods call it between their passes).
    let checkpoint: () throws -> Void
}

/// A pixel map and the figures it reports beside min, max and sum.
struct ExplainedMap {
    var tensor: Tensor
    var annotate: (inout ExplainPrediction.PixelMap) -> Void = { _ in }
}

extension ExplanationMethod {
    static var isDefault: Bool { false }
    static var needsInputGradient: Bool { false }
    static var unitScore: UnitScore? { nil }
    static func prepare(_ request: inout AdvLensServer.ExplainRequest, _ params: ExplainPrediction.Params, _ explainer: Explainer) throws {}
    static func map(_ run: ExplainRun) throws -> ExplainedMap? { nil }
    static func overlay(_ map: Tensor, image: Tensor) -> Tensor { map }
}

/// Runs engine code, turning its errors into ones that name the request's field.
func explainEngine<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as ExplainError {
        throw ServerError.invalidParams("params.\(e.description)")
    }
}
