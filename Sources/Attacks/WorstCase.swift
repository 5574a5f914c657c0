import Foundation
import Settings
import TensorEngine

/// Robust accuracy under a list of attacks, per image the worst case: an image is robust only
/// when it is classified correctly and every attack fails on it within the budget.
///
/// By default (AutoAttack's protocol) each attack runs only on the images still robust after
/// the ones before it, so the cumulative figures are exact and the order is only the cost
/// (strongest first is cheapest); `independent` runs every attack on every correctly
/// classified image instead, which costs more but gives each attack's own robust accuracy.
/// One instance is one point of a robustness curve (one budget); the caller runs it per chunk
/// of images and adds the chunks up in a `WorstCaseTally`.
public struct WorstCase: Sendable {
    /// One attack of the list at this point.
    public struct Member: Sendable {
        /// Resolved (at the point's epsilon, when the curve sets one).
        public let config: AttackConfig
        public let traits: AttackTraits
        /// An adversarial farther than this from its clean image, in the evaluation's norm,
        /// does not break it (nil: any distance does).
        public let budget: Float?
        /// Without a budget of its own, or with one that covers the whole input box: it
        /// should break every image it attacks.
        public let unbounded: Bool

        public init(config: AttackConfig, traits: AttackTraits, budget: Float?, unbounded: Bool) {
            self.config = config
            self.traits = traits
            self.budget = budget
            self.unbounded = unbounded
        }
    }

    public let members: [Member]
    /// The threat model's norm: the one the budgets bound and distances are measured in.
    public let norm: Norm
    public let independent: Bool
    /// The point's epsilon, when a curve sets every attack's.
    public let epsilon: Float?

    public init(members: [Member], norm: Norm, independent: Bool, epsilon: Float?) {
        self.members = members
        self.norm = norm
        self.independent = independent
        self.epsilon = epsilon
    }

    /// The point's attacks from the settings given. `epsilon` (a curve point) replaces the
    /// epsilon of every attack that takes one (giving one too is an error: it would be
    /// ignored) and is the budget of those that do not (C&W, DeepFool: their adversarials
    /// count only within it). Without it each attack keeps its own, and an attack without
    /// one is held to the largest of the others'. The attacks that take a budget must bound
    /// one norm. `field(i)` names attack i in errors ("attacks[1]." + "method").
    public static func point(_ attacks: [AttackConfig], epsilon: Float?, independent: Bool, lower: Float, upper: Float, itemCount: Int,
                             field: (Int) -> String) throws -> WorstCase {
        var resolved: [(AttackConfig, AttackTraits)] = []
        for (i, given) in attacks.enumerated() {
            do {
                var c = given
                if let epsilon, try c.takesEpsilon() {
                    if c.epsilon != nil { throw SettingsError.invalid("epsilon", "given, but epsilons sets every attack's epsilon") }
                    c.epsilon = epsilon
                }
                let r = try c.resolved()
                resolved.append((r, try r.traits()))
            } catch let e as SettingsError {
                throw e.prefixed(field(i))
            }
        }
        let bounded = resolved.indices.filter { resolved[$0].1.epsilon != nil }
        let norm = bounded.first.map { resolved[$0].0.norm! } ?? resolved.first?.0.norm ?? .linf
        if let first = bounded.first, let other = bounded.first(where: { resolved[$0].0.norm != norm }) {
            throw SettingsError.invalid(field(other) + "norm", "\(resolved[other].0.norm!.rawValue), but \(field(first).dropLast()) bounds "
                                        + "\(norm.rawValue): one evaluation is one threat model")
        }
        let largest = bounded.map { resolved[$0].1.epsilon! }.max()
        let span = (upper - lower) * (norm == .l2 ? Float(itemCount).squareRoot() : 1)
        let members = resolved.map { config, traits in
            Member(config: config, traits: traits, budget: epsilon ?? traits.epsilon ?? largest,
                   unbounded: traits.epsilon.map { $0 >= span } ?? true)
        }
        return WorstCase(members: members, norm: norm, independent: independent, epsilon: epsilon)
    }

    /// What the attacks made of one chunk of images.
    public struct Outcome: Sendable {
        /// Per member, per image: attacked; broken within the budget; misclassified at any distance.
        public var attacked: [[Bool]]
        public var broken: [[Bool]]
        public var fooled: [[Bool]]
        public var cleanCorrect: [Bool]
        /// Per image: the first member (in the list's order) that broke it.
        public var brokenBy: [Int?]
        /// Per image, of the adversarial that broke it: the class predicted and its distance.
        public var adversarialLabel: [Int?]
        public var linf: [Float?]
        public var l2: [Float?]
        /// The adversarial that broke each image; the clean image where none did.
        public var adversarial: Tensor

        public var robust: [Bool] { cleanCorrect.indices.map { cleanCorrect[$0] && brokenBy[$0] == nil } }
    }

    /// Runs the attacks on one chunk. `offset` is the chunk's first image among the request's
    /// (given targets are per request image); `keys` name the chunk's images for their random
    /// draws (nil: offset + their position in the chunk, their position in the request);
    /// `monitor(m)` is member m's; `finished(m, o)` is called after each member. `stopped` is
    /// true when a monitor asked to stop: the outcome is then incomplete and the chunk is to be
    /// left out.
    public func run(on ensemble: Ensemble, images: Tensor, labels: [Int], cleanPredictions: [Int], offset: Int = 0, keys: [UInt64]? = nil,
                    monitor: (Int) -> AttackMonitor = { _ in AttackMonitor() },
                    finished: (Int, Outcome) -> Void = { _, _ in }) throws -> (outcome: Outcome, stopped: Bool) {
        let n = images.batch
        let keys = keys ?? (0..<n).map { UInt64(offset + $0) }
        let none = [[Bool]](repeating: [Bool](repeating: false, count: n), count: members.count)
        var o = Outcome(attacked: none, broken: none, fooled: none, cleanCorrect: zip(cleanPredictions, labels).map { $0 == $1 },
                        brokenBy: Array(repeating: nil, count: n), adversarialLabel: Array(repeating: nil, count: n),
                        linf: Array(repeating: nil, count: n), l2: Array(repeating: nil, count: n), adversarial: images)
        for (m, member) in members.enumerated() {
            let candidates = (0..<n).filter { o.cleanCorrect[$0] && (independent || o.brokenBy[$0] == nil) }
            if candidates.isEmpty { finished(m, o); continue }
            var config = member.config
            if case .given(let targets)? = config.target { config.target = .given(candidates.map { targets[offset + $0] }) }
            let all = candidates.count == n
            let y = all ? labels : candidates.map { labels[$0] }
            let r = try Attack.run(config, on: ensemble, images: all ? images : images.gather(candidates), labels: y,
                                   keys: all ? keys : candidates.map { keys[$0] }, cleanPredictions: y, monitor: monitor(m))
            if r.stoppedEarly { return (o, true) }
            for (k, s) in r.samples.enumerated() {
                let image = candidates[s.source]
                o.attacked[m][image] = true
                guard s.adversarialLabel != s.label else { continue }
                o.fooled[m][image] = true
                if let budget = member.budget, (norm == .linf ? s.linf : s.l2) > budget * (1 + 1e-4) + 1e-6 { continue }
                o.broken[m][image] = true
                if o.brokenBy[image] == nil {
                    o.brokenBy[image] = m
                    (o.adversarialLabel[image], o.linf[image], o.l2[image]) = (s.adversarialLabel, s.linf, s.l2)
                    AttackBatch.scatter(r.adversarial.gather([k]), into: &o.adversarial, at: [image])
                }
            }
            finished(m, o)
        }
        return (o, false)
    }
}

/// A WorstCase point's figures added up over chunks: what the report and the checks read.
public struct WorstCaseTally: Sendable, Equatable {
    public var images = 0
    public var cleanCorrect = 0
    /// Per member: images attacked, broken within the budget, misclassified at any distance.
    public var attacked: [Int]
    public var broken: [Int]
    public var fooled: [Int]
    /// Per member m: images still robust after members 0...m (the cumulative figure).
    public var robustAfter: [Int]
    /// [a][b]: images member b attacked and left robust that member a broke.
    public var brokenWhereOtherFailed: [[Int]]

    public init(members: Int) {
        attacked = Array(repeating: 0, count: members)
        (broken, fooled, robustAfter) = (attacked, attacked, attacked)
        brokenWhereOtherFailed = Array(repeating: attacked, count: members)
    }

    /// Images robust to every member.
    public var robust: Int { robustAfter.last ?? cleanCorrect }

    public mutating func add(_ o: WorstCase.Outcome) {
        let n = o.cleanCorrect.count
        images += n
        cleanCorrect += o.cleanCorrect.filter { $0 }.count
        for m in attacked.indices {
            for i in 0..<n {
                if o.attacked[m][i] { attacked[m] += 1 }
                if o.broken[m][i] { broken[m] += 1 }
                if o.fooled[m][i] { fooled[m] += 1 }
                if o.cleanCorrect[i] && (o.brokenBy[i].map { $0 > m } ?? true) { robustAfter[m] += 1 }
                for b in attacked.indices where b != m && o.broken[m][i] && o.attacked[b][i] && !o.broken[b][i] {
                    brokenWhereOtherFailed[m][b] += 1
                }
            }
        }
    }

    /// Robust accuracy under member m alone, when it attacked every correctly classified image
    /// (always with `independent`; the first member otherwise), else nil.
    public func alone(_ m: Int) -> Double? {
        guard images > 0, attacked[m] == cleanCorrect else { return nil }
        return Double(cleanCorrect - broken[m]) / Double(images)
    }

    public var robustAccuracy: Double { images == 0 ? 0 : Double(robust) / Double(images) }
    public func cumulative(_ m: Int) -> Double { images == 0 ? 0 : Double(robustAfter[m]) / Double(images) }
}
