/// How integrated gradients approximates its path integral (explainPrediction's
/// `integrationMethod`): Captum's rules by Captum's names; Gauss-Legendre is the default. The
/// points and weights of each are in Interpret (`IntegrationRule.points`).
public enum IntegrationRule: String, WireEnum {
    case gaussLegendre = "gausslegendre"
    case riemannTrapezoid = "riemann_trapezoid"
    case riemannLeft = "riemann_left"
    case riemannRight = "riemann_right"
    case riemannMiddle = "riemann_middle"
}
