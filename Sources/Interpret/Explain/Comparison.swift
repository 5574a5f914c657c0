import Foundation

/// How one layer's units changed between the explained input and a comparison input
/// (typically the clean image behind an adversarial one), for the same class: the explained
/// input's prediction.
public struct LayerComparison {
    public struct Change {
        public var unit: Int
        /// Influence on the class (`LayerInfluence.score`) here and on the comparison input.
        public var influence: Float
        public var comparisonInfluence: Float
        public var activation: Float
        public var comparisonActivation: Float
        /// influence - comparisonInfluence: positive when the unit pushes toward the class more here.
        public var change: Float { influence - comparisonInfluence }
    }

    public var layer: String
    public var isChannels: Bool
    /// The units whose influence changed most (largest |change| first).
    public var changed: [Change]
    /// The units whose influence toward the class grew most (largest positive change first).
    public var pushedToward: [Change]

    /// Compares the same layer's influence on both inputs; `top` units in each list.
    public init(_ here: LayerInfluence, _ there: LayerInfluence, top: Int) {
        precondition(here.layer == there.layer && here.unitCount == there.unitCount)
        let (s, t) = (here.score, there.score)
        let all = (0..<here.unitCount).map {
            Change(unit: $0, influence: s[$0], comparisonInfluence: t[$0], activation: here.activation[$0],
                   comparisonActivation: there.activation[$0])
        }
        layer = here.layer
        isChannels = here.isChannels
        changed = Array(all.sorted { abs($0.change) > abs($1.change) || (abs($0.change) == abs($1.change) && $0.unit < $1.unit) }.prefix(top))
        pushedToward = Array(all.filter { $0.change > 0 }.sorted { $0.change > $1.change || ($0.change == $1.change && $0.unit < $1.unit) }.prefix(top))
    }
}

/// The readable sentences of an explanation, built only from the figures computed.
public enum ExplanationText {
    static func percent(_ p: Float) -> String { String(format: "%.1f%%", Double(p) * 100) }
    static func signed(_ v: Float) -> String { String(format: "%+.3g", Double(v)) }
    static func unitName(_ layer: String, _ isChannels: Bool, _ unit: Int) -> String {
        "\(isChannels ? "channel" : "unit") \(unit) of layer \(layer)"
    }

    /// "Predicted 7 with 99.2% confidence. Strongest support for 7: channel 3 of layer 4 (...)."
    public static func summary(predicted: String, confidence: Float, explained: String, layers: [LayerInfluence], measure: String) -> String {
        var s = "Predicted \(predicted) with \(percent(confidence)) confidence."
        if explained != predicted { s += " Explaining class \(explained)." }
        for l in layers {
            let score = l.score
            guard let best = score.indices.max(by: { score[$0] < score[$1] || (score[$0] == score[$1] && $0 > $1) }) else { continue }
            s += " At layer \(l.layer) the strongest support for \(explained) is \(l.isChannels ? "channel" : "unit") \(best) (\(measure) \(signed(score[best])))."
        }
        return s
    }

    /// "The input is classified as 8 (93.0%), the comparison input as 3 (99.1%). Pushing toward
    /// 8 most, compared with the comparison input: channel 12 of layer 4 (influence +2.1, was
    /// -0.3), ..."
    public static func comparison(predicted: String, confidence: Float, comparisonPredicted: String, comparisonConfidence: Float,
                                  comparisonProbabilityOfPredicted: Float, layers: [LayerComparison], measure: String, mention: Int = 3) -> String {
        var s = "The input is classified as \(predicted) (\(percent(confidence))), the comparison input as \(comparisonPredicted) (\(percent(comparisonConfidence)))"
        s += predicted == comparisonPredicted ? "." : ", which gave \(predicted) \(percent(comparisonProbabilityOfPredicted))."
        let pushers = layers.flatMap { l in l.pushedToward.map { (l, $0) } }.sorted { $0.1.change > $1.1.change }.prefix(mention)
        if pushers.isEmpty {
            s += " No unit pushes toward \(predicted) more than on the comparison input."
        } else {
            s += " Pushing toward \(predicted) more than before: " + pushers.map { l, c in
                "\(unitName(l.layer, l.isChannels, c.unit)) (\(measure) \(signed(c.influence)), was \(signed(c.comparisonInfluence)))"
            }.joined(separator: ", ") + "."
        }
        return s
    }
}
