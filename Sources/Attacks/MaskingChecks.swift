import Foundation
import Settings

/// One sign of gradient masking found in an evaluation: what was seen, at which epsilon, by
/// which attacks (indices into the list), in plain words.
public struct MaskingCheck: Sendable, Equatable {
    public var code: MaskingCheckCode
    public var epsilon: Float?
    public var attacks: [Int]
    public var message: String
}

/// The sanity checks of Carlini et al. 2019 ("On Evaluating Adversarial Robustness", §5.2)
/// that an evaluate report can answer by itself: robustness that only looks high because the
/// gradients mislead the attacks (masking) shows as an iterative attack doing worse than a
/// single-step one, robust accuracy rising with epsilon, an attack without a real budget not
/// breaking everything, or a black-box attack beating the white-box ones. Each compares
/// figures of one evaluation; a difference counts when it exceeds `tolerance`, a fraction of
/// the images evaluated (random starts move a few images either way).
public enum MaskingChecks {
    public static let tolerance = 0.01

    /// Beyond the tolerance (a difference of exactly one tolerance, in floating point, is within).
    static func exceeds(_ d: Double) -> Bool { d > tolerance + 1e-9 }

    /// One curve point as the checks read it.
    public struct Point: Sendable {
        public var worstCase: WorstCase
        public var tally: WorstCaseTally
        public init(worstCase: WorstCase, tally: WorstCaseTally) {
            self.worstCase = worstCase
            self.tally = tally
        }
    }

    public static func run(_ points: [Point]) -> [MaskingCheck] {
        points.flatMap(singleStep) + monotone(points) + points.flatMap(unbounded) + points.flatMap(blackBox)
    }

    /// How much better attack a did than attack b at one point, as a fraction of the images:
    /// from their own robust accuracies when both attacked every correctly classified image,
    /// else from the images b left robust that a broke when a ran after b (in the default
    /// order-dependent mode a later attack sees only what the earlier ones left). Nil when
    /// the evaluation cannot tell (a ran before b, which then never saw a's failures).
    static func margin(_ a: Int, over b: Int, _ p: Point) -> Double? {
        let t = p.tally
        guard t.images > 0 else { return nil }
        if let ra = t.alone(a), let rb = t.alone(b) { return rb - ra }
        if p.worstCase.independent || a > b { return Double(t.brokenWhereOtherFailed[a][b]) / Double(t.images) }
        return nil
    }

    /// Two members comparable: both held to the same budget (or both to none).
    static func sameBudget(_ a: WorstCase.Member, _ b: WorstCase.Member) -> Bool {
        switch (a.budget, b.budget) {
        case (nil, nil): return true
        case let (x?, y?): return abs(x - y) <= 1e-6 * max(abs(x), abs(y), 1)
        default: return false
        }
    }

    static func name(_ p: Point, _ i: Int) -> String { "\(p.worstCase.members[i].config.method.rawValue) (attacks[\(i)])" }

    static func at(_ p: Point) -> String { p.worstCase.epsilon.map { " at epsilon \(format($0))" } ?? "" }

    /// An epsilon as people write it (0.3, not 0.300000012).
    public static func format(_ x: Float) -> String { String(format: "%g", Double(x)) }

    static func percent(_ x: Double) -> String { String(format: "%.1f%%", 100 * x) }

    static func singleStep(_ p: Point) -> [MaskingCheck] {
        let m = p.worstCase.members
        var out: [MaskingCheck] = []
        for s in m.indices where m[s].traits.isSingleStep && !m[s].unbounded {
            for i in m.indices where m[i].traits.isIterative && !m[i].unbounded && sameBudget(m[s], m[i]) {
                guard let d = margin(s, over: i, p), exceeds(d) else { continue }
                out.append(MaskingCheck(code: .iterativeWeakerThanSingleStep, epsilon: p.worstCase.epsilon, attacks: [i, s],
                                        message: "the iterative \(name(p, i)) left \(percent(d)) more of the images robust than the single-step "
                                            + "\(name(p, s))\(at(p)); iterative attacks should be at least as strong "
                                            + "(masked gradients, or too few steps or too small a step size)"))
            }
        }
        return out
    }

    static func monotone(_ points: [Point]) -> [MaskingCheck] {
        let curve = points.filter { $0.worstCase.epsilon != nil && $0.tally.images > 0 }.sorted { $0.worstCase.epsilon! < $1.worstCase.epsilon! }
        var out: [MaskingCheck] = []
        var lowest: Point?
        for p in curve {
            if let l = lowest, exceeds(p.tally.robustAccuracy - l.tally.robustAccuracy) {
                out.append(MaskingCheck(code: .notMonotoneInEpsilon, epsilon: p.worstCase.epsilon, attacks: [],
                                        message: "robust accuracy \(percent(p.tally.robustAccuracy)) at epsilon \(format(p.worstCase.epsilon!)) "
                                            + "is higher than \(percent(l.tally.robustAccuracy)) at the smaller epsilon \(format(l.worstCase.epsilon!)); "
                                            + "a larger budget can only make attacks stronger"))
            }
            if lowest == nil || p.tally.robustAccuracy < lowest!.tally.robustAccuracy { lowest = p }
        }
        return out
    }

    static func unbounded(_ p: Point) -> [MaskingCheck] {
        let t = p.tally
        return p.worstCase.members.indices.compactMap { i in
            let member = p.worstCase.members[i]
            guard member.unbounded, t.attacked[i] > 0 else { return nil }
            let rate = Double(t.fooled[i]) / Double(t.attacked[i])
            guard exceeds(1 - rate) else { return nil }
            let why = member.traits.epsilon == nil ? "has no budget" : "has a budget that covers the whole input box"
            return MaskingCheck(code: .unboundedAttackIncomplete, epsilon: p.worstCase.epsilon, attacks: [i],
                                message: "\(name(p, i)) \(why) but misclassified only \(percent(rate)) of the \(t.attacked[i]) images it "
                                    + "attacked\(at(p)); an unbounded attack should reach 100% (masked gradients, or too few steps)")
        }
    }

    static func blackBox(_ p: Point) -> [MaskingCheck] {
        let m = p.worstCase.members
        let white = m.indices.filter { m[$0].traits.usesGradients && !m[$0].unbounded }
        return m.indices.compactMap { b in
            guard !m[b].traits.usesGradients, !m[b].unbounded else { return nil }
            let margins = white.filter { sameBudget(m[b], m[$0]) }.compactMap { w in margin(b, over: w, p).map { (w, $0) } }
            // Against the strongest white-box attack: the one the black-box attack beat least.
            guard let (w, d) = margins.min(by: { $0.1 < $1.1 }), exceeds(d) else { return nil }
            return MaskingCheck(code: .blackBoxStrongerThanWhiteBox, epsilon: p.worstCase.epsilon, attacks: [w, b],
                                message: "the black-box \(name(p, b)) broke \(percent(d)) of the images that the white-box \(name(p, w)) "
                                    + "left robust\(at(p)); with working gradients white-box attacks are the stronger (masked gradients)")
        }
    }
}
