/// The gradient-masking checks of an evaluate report (Carlini et al. 2019, "On Evaluating
/// Adversarial Robustness", §5): which sign of an overestimated robustness was seen. Here
/// beside the settings because both the engine that runs the checks (Attacks) and the wire
/// that carries them (Protocol) name them, and Settings is what both import.
public enum MaskingCheckCode: String, WireEnum {
    /// An iterative attack left more images robust than a single-step one at the same budget.
    case iterativeWeakerThanSingleStep
    /// Robust accuracy rose with a larger epsilon.
    case notMonotoneInEpsilon
    /// An attack without a budget (or with one covering the whole input box) did not break
    /// (nearly) every image it attacked.
    case unboundedAttackIncomplete
    /// A black-box (score-based) attack broke images the white-box ones left robust.
    case blackBoxStrongerThanWhiteBox
}
