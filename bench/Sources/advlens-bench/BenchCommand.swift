import ArgumentParser
import Data
import Foundation
import NN
import TensorEngine
import Settings
import Training

/// `advlens-bench`: the engine's throughput rows, as JSON lines that bench/compare.py sets
/// beside bench/pytorch_reference.py's. Weights are written to --weights-dir so the PyTorch
/// reference runs the very same models.
@main
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "advlens-bench",
                                                    abstract: "Benchmark the AdvLens engine (JSON lines on stdout).")

    @Option(name: .customLong("weights-dir"), help: "Where to write each model's weights for the PyTorch reference.")
    var weightsDir = "out/bench/weights"
    @Option(help: "Seconds per row.")
    var seconds = 2.0
    @Flag(help: "Short runs (about a tenth of the time), for a smoke test.")
    var quick = false
    @Option(help: "Models to benchmark (comma separated).")
    var models = "mnist-small,mnist-madry"
    @Option(help: "The 5,000-digit MNIST CSV (make data) for the data-loading row.")
    var data = "data/mnist_5k.csv.gz"
    @Option(help: "Only these rows (comma separated, e.g. forward_b256,train_step_b64), for profiling one row.")
    var rows: String?

    func wants(_ row: String) -> Bool {
        guard let rows else { return true }
        return rows.split(separator: ",").contains { row.hasPrefix($0) }
    }

    func run() throws {
        let timing = Timing(minSeconds: quick ? seconds / 10 : seconds)
        let info: [String: Any] = ["impl": "advlens", "model": "-", "row": "info", "blas_core": BLAS.coreName,
                                   "blas_core_selection": BLASCore.selection, "threads": BLAS.threads,
                                   "cores": Parallel.cores, "openblas": BLAS.configuration]
        print(String(decoding: try JSONSerialization.data(withJSONObject: info, options: [.sortedKeys]), as: UTF8.self))
        if wants("sgemm_1024") { benchSGEMM(timing) }
        if wants("gemm") { GEMMBench.run(rounds: quick ? 3 : 7, secondsPerRound: quick ? 0.05 : 0.2) }
        if wants("codec") { try CodecBench.run(rounds: quick ? 3 : 7, secondsPerRound: quick ? 0.05 : 0.2) }
        if wants("probe_reply") { try ProbeReplyBench.run(rounds: quick ? 3 : 7) }
        try benchData(timing)
        try ConvBench.run(timing, wants: wants)
        for arch in models.split(separator: ",").map(String.init) {
            try benchModel(arch, timing)
        }
    }

    func benchSGEMM(_ timing: Timing) {
        let n = 1024
        let a = Tensor(shape: [n, n], repeating: 0.5), b = Tensor(shape: [n, n], repeating: 0.25)
        var c = Tensor(shape: [n, n])
        let (_, rate) = timing.measure {
            a.data.withUnsafeBufferPointer { pa in b.data.withUnsafeBufferPointer { pb in c.data.withUnsafeMutableBufferPointer { pc in
                BLAS.sgemm(m: n, n: n, k: n, a: pa.baseAddress!, lda: n, b: pb.baseAddress!, ldb: n, c: pc.baseAddress!, ldc: n)
            } } }
        }
        emit(model: "-", row: "sgemm_1024", value: rate * 2 * Double(n * n * n) / 1e9, unit: "GFLOP/s")
    }

    /// Data loading and generation, whole-call times (these were wall-clock bounds in the tests
    /// once; speed is measured here): the 5,000-digit CSV with gunzip, 500 shapes scenes with masks.
    func benchData(_ timing: Timing) throws {
        if wants("mnist_csv_load"), FileManager.default.fileExists(atPath: data) {
            let (calls, _) = try timing.measure { _ = try MNISTCSV.load(path: data) }
            emit(model: "-", row: "mnist_csv_load_5k_ms", value: median(calls) * 1e3, unit: "ms")
        }
        if wants("shapes_generate") {
            let (calls, _) = try timing.measure { _ = try ShapesGenerator.generate(count: 500, seed: 9) }
            emit(model: "-", row: "shapes_generate_500_ms", value: median(calls) * 1e3, unit: "ms")
        }
    }

    func benchModel(_ arch: String, _ timing: Timing) throws {
        let model = try Architectures.create(arch, seed: 0)
        let dir = URL(fileURLWithPath: weightsDir).appendingPathComponent(arch)
        // Never over another model (e.g. a trained one in out/models): these are untrained seed-0
        // weights, written only so the PyTorch reference times the same network.
        let weights = dir.appendingPathComponent("model.safetensors")
        if let existing = FileManager.default.contents(atPath: weights.path), existing != (try model.weightsFile()) {
            throw ValidationError("--weights-dir: \(weights.path) already holds other weights (a trained model?); advlens-bench writes its untrained seed-0 weights there for the PyTorch reference, so give it a directory of its own (default out/bench/weights)")
        }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try model.save(specTo: dir.appendingPathComponent("model.json"), weightsTo: weights)

        func images(_ n: Int) -> Tensor {
            var rng = SeededRNG(seed: UInt64(n))
            return Tensor(shape: [n] + model.inputShape, data: (0..<(n * 784)).map { _ in rng.nextFloat() })
        }
        let run = Execution(mode: .eval)
        let x1 = images(1)
        if wants("forward_b1") {
            let (calls, rate1) = try timing.measure { _ = try model.forward(x1, run) }
            emit(model: arch, row: "forward_b1_ms", value: median(calls) * 1e3, unit: "ms")
            emit(model: arch, row: "forward_b1", value: rate1, unit: "img/s")
        }
        for n in [64, 256] where wants("forward_b\(n)") {
            let x = images(n)
            let (_, rate) = try timing.measure { _ = try model.forward(x, run) }
            emit(model: arch, row: "forward_b\(n)", value: rate * Double(n), unit: "img/s")
        }
        // Forward + input gradient of summed cross-entropy: one attack step's work.
        let x256 = images(256)
        let labels = (0..<256).map { $0 % 10 }
        if wants("fwd_inputgrad_b256") {
            let (_, gradRate) = try timing.measure {
                let out = try model.forward(x256, run, record: true)
                let loss = Loss.crossEntropy(logits: out.logits, labels: labels, reduction: .sum)
                _ = try model.backward(out.trace!, seeds: ["logits": loss.gradient], input: true, parameters: false, run)
            }
            emit(model: arch, row: "fwd_inputgrad_b256", value: gradRate * 256, unit: "img/s")
        }
        let x64 = images(64)
        let labels64 = (0..<64).map { $0 % 10 }
        if wants("train_step_b64") {
            // A training step: train mode, mean cross-entropy, parameter gradients, Adam.
            let trainer = StandardTrainer(model: model, optimizer: Adam(learningRate: 1e-3))
            let (_, stepRate) = try timing.measure { _ = try trainer.step(images: x64, labels: labels64) }
            emit(model: arch, row: "train_step_b64", value: stepRate, unit: "steps/s")
        }
        try benchObjectives(arch, timing, x64, labels64)
    }

    /// trainStep's objectives, batch 64, SGD lr 0.01 momentum 0.9 (bench/README.md): standard;
    /// Madry's PGD-7 (eps 0.3, step 0.1, random start, adversary in eval mode); the consistent
    /// loss with FGSM eps 0.3 and lambda 0.1 at the penultimate layer. Each on a fresh copy of
    /// the seed-0 model, through `TrainingSession.step` (what the daemon runs).
    func benchObjectives(_ arch: String, _ timing: Timing, _ x: Tensor, _ labels: [Int]) throws {
        let objectives: [(String, TrainingObjective)] = [
            ("train_standard_b64", .standard),
            ("train_pgd7_b64", .pgd(try Adversary(method: .pgd, epsilon: 0.3, stepSize: 0.1, steps: 7))),
            ("train_consistent_b64", .consistent(lambda: 0.1, layers: ["8"], featureReduction: .sum,
                                                 adversary: try Adversary(method: .fgsm, epsilon: 0.3))),
        ]
        for (row, objective) in objectives where wants(row) {
            let session = TrainingSession(model: try Architectures.create(arch, seed: 0),
                                          optimizer: try OptimizerConfig(kind: .sgd, learningRate: 0.01, momentum: 0.9))
            let (_, rate) = try timing.measure { _ = try session.step(images: x, labels: labels, objective: objective, seed: 0) }
            emit(model: arch, row: row, value: rate, unit: "steps/s")
        }
    }

    static func main() {
        BLASCore.reexecWithBestCoreIfNeeded()
        // Before any thread allocates, as in advlensd: freed tensors' memory is reused.
        Memory.configure()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}
