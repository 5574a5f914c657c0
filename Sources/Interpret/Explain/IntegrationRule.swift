import Foundation
import Settings

/// The points α in [0, 1] and weights of each rule (the rule's names are Settings'), as
/// Captum's `approximation_methods` defines them (Captum's default is Gauss-Legendre, the most
/// accurate for a given number of steps).
extension IntegrationRule {
    /// The `steps` points α and their weights (summing to 1 except Captum's trapezoid).
    public func points(_ steps: Int) -> (alphas: [Double], weights: [Double]) {
        precondition(steps >= 1)
        let n = Double(steps)
        switch self {
        case .gaussLegendre:
            let (x, w) = Self.legendreNodes(steps)
            return (x.map { 0.5 * (1 + $0) }, w.map { 0.5 * $0 })
        case .riemannTrapezoid:
            // Captum's: α = linspace(0, 1, n), weights 1/n halved at both ends. (They sum to
            // 1 - 1/n, not 1: Captum's rule, kept so that attributions match Captum's.)
            guard steps > 1 else { return ([1], [1]) }
            return ((0..<steps).map { Double($0) / (n - 1) }, (0..<steps).map { $0 == 0 || $0 == steps - 1 ? 0.5 / n : 1 / n })
        case .riemannLeft:
            return ((0..<steps).map { Double($0) / n }, Array(repeating: 1 / n, count: steps))
        case .riemannRight:
            return ((1...steps).map { Double($0) / n }, Array(repeating: 1 / n, count: steps))
        case .riemannMiddle:
            return ((0..<steps).map { (Double($0) + 0.5) / n }, Array(repeating: 1 / n, count: steps))
        }
    }

    /// Gauss-Legendre nodes on [-1, 1], ascending, and weights (what numpy's leggauss gives):
    /// Newton's iteration on the Legendre polynomial from the usual cosine guesses.
    static func legendreNodes(_ n: Int) -> ([Double], [Double]) {
        var nodes = [Double](repeating: 0, count: n), weights = [Double](repeating: 0, count: n)
        for i in 0..<n {
            var z = cos(Double.pi * (Double(i) + 0.75) / (Double(n) + 0.5))
            var derivative = 0.0
            for _ in 0..<100 {
                var p1 = 1.0, p2 = 0.0
                for j in 1...n {
                    let p3 = p2
                    p2 = p1
                    p1 = ((2 * Double(j) - 1) * z * p2 - (Double(j) - 1) * p3) / Double(j)
                }
                derivative = Double(n) * (z * p1 - p2) / (z * z - 1)
                let step = p1 / derivative
                z -= step
                if abs(step) < 1e-15 { break }
            }
            nodes[n - 1 - i] = z
            weights[n - 1 - i] = 2 / ((1 - z * z) * derivative * derivative)
        }
        return (nodes, weights)
    }
}
