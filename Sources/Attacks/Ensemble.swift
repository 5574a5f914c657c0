import Foundation
import NN
import TensorEngine

/// The models an attack runs against: one, or several with weights (normalised to sum 1),
/// all taking the same input shape and range and giving the same number of classes.
///
/// How members combine depends on the method (protocol/attack.md documents it per method):
/// gradient-sign and PGD-style attacks average the members' **losses**; the ensemble-
/// optimization attack averages their **probabilities** (its loss is -log Σ aᵢ pᵢ(t)); C&W and
/// DeepFool average their **logits**. The ensemble's prediction, used to judge success, is the
/// argmax of the weighted average of the members' probabilities.
public struct Ensemble {
    public let members: [Model]
    public let weights: [Float]

    public init(_ members: [(Model, Float)]) throws {
        guard let first = members.first?.0 else { throw AttackError.invalid("models", "expected at least one model") }
        for (i, (m, w)) in members.enumerated() {
            guard m.inputShape == first.inputShape else {
                throw AttackError.invalid("models[\(i)]", "takes \(m.inputShape) inputs, the first model \(first.inputShape)")
            }
            guard m.classCount == first.classCount else {
                throw AttackError.invalid("models[\(i)]", "has \(m.classCount) classes, the first model \(first.classCount)")
            }
            guard m.spec.input.range == first.spec.input.range else {
                throw AttackError.invalid("models[\(i)]", "has input range \(m.spec.input.range), the first model \(first.spec.input.range)")
            }
            guard w > 0, w.isFinite else { throw AttackError.invalid("models[\(i)].weight", "must be positive, got \(w)") }
        }
        // Normalised in Double: Float weights near Float.max would overflow their sum (3e38 + 3e38)
        // and normalise to 0, leaving an attack that moves nothing and "fails".
        let total = members.reduce(0.0) { $0 + Double($1.1) }
        self.members = members.map(\.0)
        self.weights = members.map { Float(Double($0.1) / total) }
        if let tiny = weights.firstIndex(where: { !($0 > 0) }) {
            throw AttackError.invalid("models[\(tiny)].weight", "is too small beside the others to count (\(members[tiny].1) of \(total))")
        }
        chunks = ChunkSizer(multiplyAddsPerRow: self.members.reduce(0) { $0 + ChunkSizer.multiplyAdds(of: $1) })
    }

    public init(_ model: Model) {
        members = [model]
        weights = [1]
        chunks = ChunkSizer(multiplyAddsPerRow: ChunkSizer.multiplyAdds(of: model))
    }

    public var classCount: Int { members[0].classCount }
    public var inputShape: [Int] { members[0].inputShape }
    public var lower: Float { members[0].spec.input.lower }
    public var upper: Float { members[0].spec.input.upper }

    /// Each member's logits for a batch (eval mode).
    public func logits(_ x: Tensor, _ runs: [Execution]) throws -> [Tensor] {
        try zip(members, runs).map { m, run in try m.forward(x, run).logits }
    }

    /// Σ aᵢ softmax(zᵢ).
    public func probabilities(_ logits: [Tensor]) -> Tensor {
        var p = logits[0].softmaxRows()
        if members.count == 1 { return p }
        p.scale(weights[0])
        for i in 1..<logits.count { p.axpy(weights[i], logits[i].softmaxRows()) }
        return p
    }

    /// Σ aᵢ zᵢ.
    public func averagedLogits(_ logits: [Tensor]) -> Tensor {
        if members.count == 1 { return logits[0] }
        var z = logits[0]
        z.scale(weights[0])
        for i in 1..<logits.count { z.axpy(weights[i], logits[i]) }
        return z
    }

    /// Predicted class and its probability per sample, in slices of 256 rows.
    public func predict(_ x: Tensor, _ runs: [Execution]) throws -> (classes: [Int], confidence: [Float]) {
        var classes: [Int] = [], confidence: [Float] = []
        for start in stride(from: 0, to: x.batch, by: 256) {
            let part = x.batch <= 256 ? x : x.slice(start..<min(x.batch, start + 256))
            let p = probabilities(try logits(part, runs))
            let c = p.argmaxRows()
            classes += c
            confidence += c.enumerated().map { p.data[$0.offset * classCount + $0.element] }
        }
        return (classes, confidence)
    }

    /// Every member's forward, then one input-gradient pass each: `seeds` turns all members'
    /// logits for rows `range` of the batch into the gradient of the objective with respect to
    /// each member's logits (weights already applied), and the result is Σᵢ d(objective)/dx
    /// with the logits. The batch runs in chunks of `chunk` rows, and `stop` is polled between
    /// chunks (throwing `AttackStopped`), so a cancel never waits for a whole large batch.
    public func inputGradient(_ x: Tensor, _ runs: [Execution], chunk given: Int? = nil, stop: () -> Bool = { false },
                              seeds: (Range<Int>, [Tensor]) -> [Tensor]) throws -> (gradient: Tensor, logits: [Tensor]) {
        var gradients: [Tensor] = [], logitParts: [[Tensor]] = []
        for range in ChunkSizer.ranges(x.batch, size: given ?? fixedChunk, balancedWithin: chunks.size) {
            if stop() { throw AttackStopped() }
            let part = range.count == x.batch ? x : x.slice(range)
            let outs = try zip(members, runs).map { m, run in try m.forward(part, run, record: true) }
            let logits = outs.map(\.logits)
            let perMember = seeds(range, logits)
            var total: Tensor?
            for (i, m) in members.enumerated() {
                let g = try m.backward(outs[i].trace!, seeds: ["logits": perMember[i]], input: true, parameters: false, runs[i]).input!
                if total == nil { total = g } else { total!.add(g) }
            }
            gradients.append(total!)
            logitParts.append(logits)
        }
        if gradients.count == 1 { return (gradients[0], logitParts[0]) }
        return (Tensor.concatenate(gradients), members.indices.map { i in Tensor.concatenate(logitParts.map { $0[i] }) })
    }

    /// Rows per forward/backward chunk when the caller gives none, from the members' cost (see
    /// `ChunkSizer`), so a cancel is honoured within tens of milliseconds on any model while
    /// every model's products still get enough rows to run efficiently.
    public let chunks: ChunkSizer

    /// Rows per chunk of `inputGradient` and `classGradients` instead of the adaptive size
    /// (nil: adaptive); tests set it to show a sample's result does not depend on it. Training
    /// sets it to its batch (up to 256): one GEMM-sized pass per iteration, as PyTorch's loop
    /// does, with the stop check between iterations.
    public var fixedChunk: Int?

    /// One execution (scratch memory) per member, reused across an attack's iterations.
    public func executions() -> [Execution] { members.map { _ in Execution(mode: .eval) } }
}

extension Ensemble {
    /// The averaged logits Z = Σ aᵢ zᵢ and, for every class k, dZₖ/dx: one forward per member,
    /// then one input-gradient pass per class and member (what DeepFool linearises).
    public func classGradients(_ x: Tensor, _ runs: [Execution], stop: () -> Bool = { false }) throws -> (logits: Tensor, gradients: [Tensor]) {
        var zs: [Tensor] = [], perClass: [[Tensor]] = Array(repeating: [], count: classCount)
        for range in ChunkSizer.ranges(x.batch, size: fixedChunk, balancedWithin: chunks.size(backwardPasses: classCount)) {
            if stop() { throw AttackStopped() }
            let part = range.count == x.batch ? x : x.slice(range)
            let outs = try zip(members, runs).map { m, run in try m.forward(part, run, record: true) }
            zs.append(averagedLogits(outs.map(\.logits)))
            let (n, k) = (part.batch, classCount)
            for c in 0..<k {
                var total: Tensor?
                for (i, m) in members.enumerated() {
                    var seed = Tensor(shape: [n, k])
                    for s in 0..<n { seed.data[s * k + c] = weights[i] }
                    let g = try m.backward(outs[i].trace!, seeds: ["logits": seed], input: true, parameters: false, runs[i]).input!
                    if total == nil { total = g } else { total!.add(g) }
                }
                perClass[c].append(total!)
            }
        }
        if zs.count == 1 { return (zs[0], perClass.map { $0[0] }) }
        return (Tensor.concatenate(zs), perClass.map(Tensor.concatenate))
    }
}

/// Thrown between chunks when the attack's monitor asks to stop.
public struct AttackStopped: Error {}

/// Chooses how many rows one forward/backward chunk takes, from the models' multiply-adds per
/// row: about 50 ms a chunk at a nominal 80·10⁹ multiply-adds/s, a backward pass counted as
/// one more forward (what 2 cores reached on mnist-madry's input-gradient passes: 256 images
/// × 11 passes of 2 × 13.9·10⁶ in 1.93 s of CPU time), within 8...1024 and a multiple of 8,
/// so the cancellation check between chunks comes several times a second whatever the model,
/// even on a machine a few times slower (mnist-small: the whole 256-image batch at once;
/// mnist-madry: 136 rows; DeepFool's 10 class gradients on mnist-madry: 24). That size is a
/// limit: a batch runs in as few chunks under it as cover it, of equal sizes (`ranges`).
///
/// Why not smaller: each chunk's products pack their weights again, and a dense layer's
/// product runs well only over many rows (mnist-madry's 3136×1024 layer, OpenBLAS's Haswell
/// kernel, one core: 24·10⁹ multiply-adds/s over 8 rows, 49·10⁹ over 64, 57·10⁹ over 256). The
/// earlier nominal rate (16·10⁹ for forward and backward, a backward counted as two forwards)
/// was six times below what the machine reached, so mnist-madry ran in 8-row chunks of 3.5
/// ms, its dense layers at half speed.
///
/// Why not timed: the size was once scaled from the last chunk's measured time, so one
/// request split its batch differently from run to run, and OpenBLAS rounds a row's dot
/// products differently with the number of rows sharing a product: the same request with the
/// same seed gave adversarials ~2e-7 apart on a loaded machine. Since then the engine rounds a
/// sample the same way in any chunk (every product on AdvLens' own GEMM, `PackedMatrix`), so the chunk size no longer changes results; fixing it by the models
/// still keeps a request's cost and cancel latency from depending on the load.
public struct ChunkSizer: Sendable {
    /// Rows per chunk of one forward and one backward pass (`Ensemble.inputGradient`).
    public let size: Int
    /// The models' multiply-adds per row (forward).
    public let multiplyAddsPerRow: Int

    public init(multiplyAddsPerRow: Int) {
        self.multiplyAddsPerRow = multiplyAddsPerRow
        size = ChunkSizer.rows(multiplyAddsPerRow, backwardPasses: 1)
    }

    /// Rows per chunk of one forward and `backwardPasses` backward passes.
    public func size(backwardPasses: Int) -> Int { ChunkSizer.rows(multiplyAddsPerRow, backwardPasses: backwardPasses) }

    /// The row ranges of a batch of `n`: chunks of exactly `size` rows when given (the last one
    /// shorter), else as few chunks of at most `limit` rows as cover the batch, of equal sizes
    /// (64 rows under a limit of 48 run as 32 + 32, not 48 + 16, whose second chunk's products
    /// had half the columns).
    public static func ranges(_ n: Int, size: Int?, balancedWithin limit: Int) -> [Range<Int>] {
        if let size {
            return stride(from: 0, to: n, by: max(1, size)).map { $0..<min(n, $0 + max(1, size)) }
        }
        let count = (n + max(1, limit) - 1) / max(1, limit)
        return (0..<count).map { i in (i * n / count)..<((i + 1) * n / count) }
    }

    static func rows(_ multiplyAdds: Int, backwardPasses: Int) -> Int {
        let rows = 0.05 * 80e9 / (Double(1 + max(0, backwardPasses)) * Double(max(1, multiplyAdds)))
        return max(8, min(1024, Int(rows) / 8 * 8))
    }

    /// A model's multiply-adds for one input (`Model.footprint`).
    public static func multiplyAdds(of model: Model) -> Int { model.footprint.multiplyAdds }
}
