import Foundation
import NN
import TensorEngine

/// The one gradient-check harness every layer and loss test uses: compares an analytic
/// gradient with central finite differences of a scalar objective.
///
/// - `epsilon`: the finite-difference step (float32 forward passes: 1e-3..1e-2).
/// - `fourPoint`: the 4-point stencil (f(x-2h) - 8f(x-h) + 8f(x+h) - f(x+2h)) / 12h, error
///   O(h⁴), instead of the 2-point (f(x+h) - f(x-h)) / 2h, error O(h²).
/// - `maxEntries`: how many coordinates to probe (chosen by a seeded permutation), so large
///   tensors stay cheap.
/// - An entry passes when |analytic - numeric| <= atol + rtol·max(|analytic|, |numeric|).
///
/// Non-smooth ops (ReLU at 0, max-pool ties, the C&W hinge) are checked away from their kinks
/// here, and at the kinks by tests with hand-computed values.
public struct GradientCheck {
    public var epsilon: Float = 1e-3
    public var fourPoint = true
    public var maxEntries = 48
    public var relativeTolerance: Float = 1e-2
    public var absoluteTolerance: Float = 1e-3
    public var seed: UInt64 = 7

    public init(epsilon: Float = 1e-3, relativeTolerance: Float = 1e-2, absoluteTolerance: Float = 1e-3, maxEntries: Int = 48) {
        self.epsilon = epsilon
        self.relativeTolerance = relativeTolerance
        self.absoluteTolerance = absoluteTolerance
        self.maxEntries = maxEntries
    }

    /// One failing coordinate.
    public struct Mismatch: CustomStringConvertible {
        public let index: Int
        public let analytic: Float
        public let numeric: Float
        public var description: String { "index \(index): analytic \(analytic), numeric \(numeric)" }
    }

    /// The comparison of one gradient.
    public struct Report: CustomStringConvertible {
        public let checked: Int
        public let mismatches: [Mismatch]
        public let maxAbsoluteError: Float
        public var passed: Bool { mismatches.isEmpty && checked > 0 }
        public var description: String {
            "checked \(checked) entries, max abs error \(maxAbsoluteError), \(mismatches.count) mismatches"
                + (mismatches.isEmpty ? "" : ": " + mismatches.prefix(5).map(\.description).joined(separator: "; "))
        }
    }

    /// Compares `analytic` with the numeric gradient of `objective` at `x`.
    public func check(at x: Tensor, analytic: Tensor, _ objective: (Tensor) throws -> Double) rethrows -> Report {
        precondition(x.shape == analytic.shape, "GradientCheck: gradient shape \(analytic.shape) differs from input \(x.shape)")
        var rng = SeededRNG(seed: seed)
        let indices = Array(rng.permutation(x.count).prefix(maxEntries))
        var mismatches: [Mismatch] = []
        var maxError: Float = 0
        var probe = x
        for i in indices {
            let original = probe.data[i]
            func f(_ delta: Float) throws -> Double {
                probe.data[i] = original + delta
                defer { probe.data[i] = original }
                return try objective(probe)
            }
            let h = epsilon
            let numeric: Double
            if fourPoint {
                let (m2, m1, p1, p2) = (try f(-2 * h), try f(-h), try f(h), try f(2 * h))
                numeric = (m2 - 8 * m1 + 8 * p1 - p2) / (12 * Double(h))
            } else {
                numeric = (try f(h) - f(-h)) / (2 * Double(h))
            }
            let a = analytic.data[i], n = Float(numeric)
            let err = abs(a - n)
            maxError = max(maxError, err)
            if err > absoluteTolerance + relativeTolerance * max(abs(a), abs(n)) {
                mismatches.append(Mismatch(index: i, analytic: a, numeric: n))
            }
        }
        return Report(checked: indices.count, mismatches: mismatches, maxAbsoluteError: maxError)
    }
}

/// Deterministic test tensors.
public enum TestTensors {
    /// Uniform values in [low, high) from `SeededRNG(seed)`.
    public static func uniform(_ shape: [Int], _ low: Float = -1, _ high: Float = 1, seed: UInt64) -> Tensor {
        var rng = SeededRNG(seed: seed)
        var t = Tensor(shape: shape)
        for i in 0..<t.count { t.data[i] = rng.uniform(low, high) }
        return t
    }

    /// Uniform values whose magnitude is at least `gap`, so no element sits within `gap` of a
    /// kink at 0 (ReLU) and finite differences of size < gap see a smooth function.
    public static func awayFromZero(_ shape: [Int], gap: Float = 0.05, seed: UInt64) -> Tensor {
        uniform(shape, -1, 1, seed: seed).map { $0 >= 0 ? $0 + gap : $0 - gap }
    }
}
