import Foundation
import NN
import Settings
import TensorEngine

/// Runs an attack: chooses targets, makes the batch (several targets per image for the
/// ensemble-optimization attack), dispatches to the method, then judges every adversarial
/// image once more on the ensemble for the per-sample results.
public enum Attack {
    /// The attacks by wire name, for capabilities.
    public static var methods: [String] { AttackRegistry.names }

    /// `cleanPredictions`, when the caller already has the ensemble's predictions for the
    /// clean images (one per image), saves a forward pass. `keys` name the images for their
    /// random draws (`SampleRandomness`; nil: their positions here): an image with the same
    /// key, seed and settings gets the same adversarial in any batch.
    public static func run(_ config: AttackConfig, on ensemble: Ensemble, images: Tensor, labels: [Int], keys: [UInt64]? = nil,
                           cleanPredictions: [Int]? = nil, monitor: AttackMonitor = AttackMonitor()) throws -> AttackResult {
        let start = DispatchTime.now().uptimeNanoseconds
        let config = try config.resolved()
        let (batch, sources, targets, stopped) = try craft(config, on: ensemble, images: images, labels: labels, keys: keys, monitor: monitor)

        // Judge every sample on its final image (and its clean one: given, else seen by the
        // method's first gradient pass, else one forward over the samples it did not see).
        let runs = ensemble.executions()
        let cleanPredicted = try cleanPredictions.map { given in
            guard given.count == images.batch else {
                throw AttackError.invalid("inputs", "\(given.count) clean predictions for \(images.batch) images")
            }
            return sources.map { given[$0] }
        } ?? judgeClean(batch, on: ensemble, runs)
        let (predicted, confidence) = try ensemble.predict(batch.adversarial, runs)
        let (linf, l2) = perturbationNorms(batch.adversarial, batch.clean)
        let samples = (0..<batch.count).map { i in
            SampleResult(label: batch.labels[i], target: targets?[i], adversarialLabel: predicted[i],
                         success: batch.succeeded(i, predicted: predicted[i]), linf: linf[i], l2: l2[i],
                         confidence: confidence[i], iterations: batch.iterations[i], source: sources[i],
                         cleanCorrect: cleanPredicted[i] == batch.labels[i])
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return AttackResult(adversarial: batch.adversarial, samples: samples, config: config, seconds: seconds, stoppedEarly: stopped)
    }

    /// The clean predictions the method saw, the others (if any) predicted now.
    static func judgeClean(_ batch: AttackBatch, on ensemble: Ensemble, _ runs: [Execution]) throws -> [Int] {
        let unseen = batch.cleanPredicted.indices.filter { batch.cleanPredicted[$0] == nil }
        if unseen.isEmpty { return batch.cleanPredicted.map { $0! } }
        var out = batch.cleanPredicted
        let predicted = try ensemble.predict(unseen.count == batch.count ? batch.clean : batch.clean.gather(unseen), runs).classes
        for (k, i) in unseen.enumerated() { out[i] = predicted[k] }
        return out.map { $0! }
    }

    /// The adversarial images alone, without judging them: what adversarial training needs
    /// (its own training forward pass measures the adversarial accuracy). `stopped` is true
    /// when the monitor asked to stop; the images are then the iterates reached so far.
    public static func examples(_ config: AttackConfig, on ensemble: Ensemble, images: Tensor, labels: [Int], keys: [UInt64]? = nil,
                                monitor: AttackMonitor = AttackMonitor()) throws -> (adversarial: Tensor, stopped: Bool) {
        let (batch, _, _, stopped) = try craft(try config.resolved(), on: ensemble, images: images, labels: labels, keys: keys, monitor: monitor)
        return (batch.adversarial, stopped)
    }

    /// Checks the batch, chooses targets, and runs the method (`config` resolved).
    static func craft(_ config: AttackConfig, on ensemble: Ensemble, images: Tensor, labels: [Int], keys: [UInt64]? = nil,
                      monitor: AttackMonitor) throws -> (batch: AttackBatch, sources: [Int], targets: [Int]?, stopped: Bool) {
        guard images.rank == 4, Array(images.shape.dropFirst()) == ensemble.inputShape, images.batch > 0 else {
            throw AttackError.invalid("inputs", "images of shape \(images.shape) do not fit the model's input [N] + \(ensemble.inputShape)")
        }
        guard labels.count == images.batch else {
            throw AttackError.invalid("labels", "\(labels.count) labels for \(images.batch) images")
        }
        if let bad = labels.firstIndex(where: { $0 < 0 || $0 >= ensemble.classCount }) {
            throw AttackError.invalid("labels[\(bad)]", "\(labels[bad]) is not a class index 0..<\(ensemble.classCount)")
        }
        if let keys, keys.count != images.batch {
            throw AttackError.invalid("inputs", "\(keys.count) sample keys for \(images.batch) images")
        }
        let imageKeys = keys ?? (0..<images.batch).map { UInt64($0) }
        var clean = images
        clip(&clean, ensemble.lower, ensemble.upper)

        // Targets, and the batch of (image, target) pairs.
        var sources = Array(0..<images.batch)
        var sampleKeys = imageKeys
        var targets: [Int]?
        if config.targeted! {
            let perImage = config.targetsPerImage ?? 1
            let chosen = try chooseTargets(config, ensemble: ensemble, images: clean, labels: labels, keys: imageKeys, perImage: perImage)
            sources = (0..<images.batch).flatMap { Array(repeating: $0, count: perImage) }
            sampleKeys = (0..<images.batch).flatMap { i in (0..<perImage).map { SampleRandomness.slotKey(imageKeys[i], slot: $0) } }
            targets = chosen.flatMap { $0 }
            if perImage > 1 { clean = clean.gather(sources) }
        }
        var batch = AttackBatch(clean: clean, labels: sources.map { labels[$0] }, targets: targets, keys: sampleKeys, seed: config.seed!)

        let stopped = try AttackRegistry.method(config.method).run(config, on: ensemble, monitor: monitor, batch: &batch)
        return (batch, sources, targets, stopped)
    }

    /// Targets per image: random classes other than the label (distinct, from the seed and the
    /// image's key), the least likely classes on the clean image, or the given ones.
    static func chooseTargets(_ config: AttackConfig, ensemble: Ensemble, images: Tensor, labels: [Int], keys: [UInt64],
                              perImage: Int) throws -> [[Int]] {
        let k = ensemble.classCount
        guard perImage <= k - 1 else {
            throw AttackError.invalid("targetsPerImage", "at most \(k - 1) targets differ from the label, asked for \(perImage)")
        }
        switch config.target! {
        case .given(let given):
            guard perImage == 1 else { throw AttackError.invalid("targetsPerImage", "given targets are one per image") }
            guard given.count == labels.count else {
                throw AttackError.invalid("target", "\(given.count) targets for \(labels.count) images")
            }
            if let bad = given.firstIndex(where: { $0 < 0 || $0 >= k }) {
                throw AttackError.invalid("target[\(bad)]", "\(given[bad]) is not a class index 0..<\(k)")
            }
            if let same = given.indices.first(where: { given[$0] == labels[$0] }) {
                throw AttackError.invalid("target[\(same)]", "equals the input's label \(labels[same]); a target must be another class")
            }
            return given.map { [$0] }
        case .random:
            return zip(labels, keys).map { y, key in
                var rng = SampleRandomness.generator(seed: config.seed!, key: key, stream: SampleRandomness.targetStream)
                var others = (0..<k).filter { $0 != y }
                rng.shuffle(&others)
                return Array(others.prefix(perImage))
            }
        case .leastLikely:
            let runs = ensemble.executions()
            var out: [[Int]] = []
            for s in stride(from: 0, to: images.batch, by: 256) {
                let chunk = images.slice(s..<min(images.batch, s + 256))
                let p = ensemble.probabilities(try ensemble.logits(chunk, runs))
                for row in 0..<chunk.batch {
                    let y = labels[s + row]
                    let order = (0..<k).filter { $0 != y }.sorted { p.data[row * k + $0] < p.data[row * k + $1] }
                    out.append(Array(order.prefix(perImage)))
                }
            }
            return out
        }
    }

    /// Every sample's other classes, by falling logit (the ensemble's averaged logits) on its
    /// clean image: the target classes of APGD-T and FAB-T, best first. `taking` (their
    /// `targetClasses`) must not exceed the classes besides the label.
    static func classesByCleanLogit(_ ensemble: Ensemble, _ batch: AttackBatch, taking wanted: Int) throws -> [[Int]] {
        guard wanted <= ensemble.classCount - 1 else {
            throw AttackError.invalid("targetClasses", "the model has \(ensemble.classCount - 1) classes besides the label, asked for \(wanted)")
        }
        let runs = ensemble.executions()
        let k = ensemble.classCount
        var ranked: [[Int]] = []
        for start in stride(from: 0, to: batch.count, by: 256) {
            let z = ensemble.averagedLogits(try ensemble.logits(batch.clean.slice(start..<min(batch.count, start + 256)), runs))
            for row in 0..<z.batch {
                let y = batch.labels[start + row]
                ranked.append((0..<k).filter { $0 != y }.sorted { z.data[row * k + $0] > z.data[row * k + $1] })
            }
        }
        return ranked
    }
}
