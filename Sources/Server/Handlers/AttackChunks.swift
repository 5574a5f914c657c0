import Attacks
import Foundation
import NN
import Protocol
import TensorEngine

/// What an `attack` request has made so far, chunk by chunk: the samples (sources counted
/// over the request's inputs), the transfer judgements, and the arrays the reply returns.
///
/// Why: an attack over a streamed dataset runs in chunks and keeps no chunk's images once
/// they are written to its result; the reply's figures are added up here instead of read
/// from one `AttackResult`. Inputs in memory are one chunk.
struct AttackChunks {
    let transferModels: [Model]
    let options: AttackMethod.ReturnOptions?
    private(set) var samples: [SampleResult] = []
    /// Per transfer model: samples whose adversarial fooled it (as the attack counts success),
    /// and samples it still classifies correctly.
    private var transferred: [(fooled: Int, correct: Int)]
    /// The adversarial images and perturbations, when the reply returns them.
    private(set) var images: [Float] = []
    private(set) var perturbations: [Float] = []
    private var seconds = 0.0
    var stoppedEarly = false

    init(transferModels: [Model], options: AttackMethod.ReturnOptions?) {
        self.transferModels = transferModels
        self.options = options
        transferred = transferModels.map { _ in (0, 0) }
    }

    var successRate: Double { samples.successRate }

    /// Adds one chunk's result; `clean` are its inputs, `offset` the first one's position
    /// among the request's.
    mutating func add(_ r: AttackResult, clean: Tensor, offset: Int) throws {
        samples += r.samples.map { s in
            var s = s
            s.source += offset
            return s
        }
        seconds += r.seconds
        for (k, m) in transferModels.enumerated() {
            let (predicted, _) = try Ensemble(m).predict(r.adversarial, [Execution()])
            for (pred, s) in zip(predicted, r.samples) {
                if s.target.map({ pred == $0 }) ?? (pred != s.label) { transferred[k].fooled += 1 }
                if pred == s.label { transferred[k].correct += 1 }
            }
        }
        if options?.images == true { images += r.adversarial.data }
        if options?.perturbations == true { perturbations += (r.adversarial - clean.gather(r.samples.map(\.source))).data }
    }

    /// The transfer rows, one per model (named `names`), or nil without `evaluateOn`.
    func transfer(names: [String]) -> [AttackMethod.Transfer]? {
        guard !names.isEmpty else { return nil }
        let count = Double(max(1, samples.count))
        return zip(names, transferred).map { name, t in
            .init(model: name, successRate: Double(t.fooled) / count, robustAccuracy: Double(t.correct) / count)
        }
    }

    /// The summary over every sample, for `inputs` inputs attacked; elapsed time since `start`.
    func summary(inputs: Int, since start: UInt64) -> AttackMethod.Summary {
        let succeeded = samples.attacked.filter(\.success)
        func mean(_ v: [Float]) -> Float { v.isEmpty ? 0 : v.reduce(0, +) / Float(v.count) }
        func median(_ v: [Float]) -> Float { let s = v.sorted(); return s.isEmpty ? 0 : (s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2) }
        var cleanCorrect = [Bool](repeating: false, count: inputs)
        for s in samples { cleanCorrect[s.source] = s.cleanCorrect }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return AttackMethod.Summary(
            count: samples.count, attacked: samples.attacked.count, successRate: samples.successRate, robustAccuracy: samples.robustAccuracy,
            cleanAccuracy: Double(cleanCorrect.filter { $0 }.count) / Double(max(1, inputs)),
            meanLinf: mean(succeeded.map(\.linf)), medianLinf: median(succeeded.map(\.linf)),
            meanL2: mean(succeeded.map(\.l2)), medianL2: median(succeeded.map(\.l2)),
            elapsedMs: elapsed * 1000, imagesPerSecond: Double(samples.count) / max(seconds, 1e-9), stoppedEarly: stoppedEarly)
    }
}
