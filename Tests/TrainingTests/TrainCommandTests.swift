import Foundation
import TestSupport
import XCTest

/// The training command end to end, as a user runs it: the release binary on the real MNIST
/// split (`make test` builds it and fetches the data first).
final class TrainCommandTests: XCTestCase {
    struct Summary: Decodable {
        var architecture: String
        var blasCore: String
        var blasCoreSelection: String
        var blasThreads: Int
        var trainImages: Int
        var testImages: Int
        var testAccuracy: Double
        var fingerprint: String
    }

    func train(_ arguments: [String], environment: [String: String]? = nil) throws -> Summary {
        let binary = RepositoryPaths.root.appendingPathComponent(".build/release/advlens-train")
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            XCTFail("\(binary.path) is missing: run `make build` (make test does)")
            throw CocoaError(.fileNoSuchFile)
        }
        let process = Process()
        process.executableURL = binary
        process.arguments = ["--json", "--data", RepositoryPaths.data("mnist_5k.csv.gz").path] + arguments
        if let environment { process.environment = environment }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, errors)
        return try JSONDecoder().decode(Summary.self, from: data)
    }

    /// Environment without any OpenBLAS core choice, so the binary picks one itself.
    var cleanEnvironment: [String: String] {
        ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("OPENBLAS_CORETYPE") && $0.key != "ADVLENS_BLAS_REEXEC" }
    }

    /// The recipe of the issue (Adam 1e-3, batch 64, 5 epochs on 4,000 images) reaches
    /// PyTorch's accuracy on the 1,000 held-out digits. bench/pytorch_train_reference.py
    /// measured PyTorch on this very split: mnist-small 0.9496 mean over seeds 0-4 (0.944 to
    /// 0.955), mnist-madry 0.9672 (0.965 to 0.969). The bar is PyTorch's worst seed.
    func testMnistSmallReachesPyTorchAccuracy() throws {
        let s = try train(["--arch", "mnist-small"], environment: cleanEnvironment)
        XCTAssertEqual(s.trainImages, 4000)
        XCTAssertEqual(s.testImages, 1000)
        XCTAssertGreaterThanOrEqual(s.testAccuracy, 0.944)
    }

    func testMnistMadryReachesPyTorchAccuracy() throws {
        let s = try train(["--arch", "mnist-madry"], environment: cleanEnvironment)
        XCTAssertGreaterThanOrEqual(s.testAccuracy, 0.965)
    }

    /// shapes-cnn on the generated shapes set (6,000 train / 1,000 test of seed 0), 5 epochs:
    /// measured 0.939 (0.974 after 8 epochs); the issue asks for at least 0.90.
    func testShapesCNNReachesNinetyPercent() throws {
        let s = try train(["--arch", "shapes-cnn", "--epochs", "5"], environment: cleanEnvironment)
        XCTAssertEqual(s.trainImages, 6000)
        XCTAssertEqual(s.testImages, 1000)
        XCTAssertGreaterThanOrEqual(s.testAccuracy, 0.90)
    }

    /// Without OPENBLAS_CORETYPE the binary re-executes itself with the best core this CPU
    /// supports and reports it; a core the user sets is kept.
    func testPicksTheBestBLASCoreUnlessTheUserChose() throws {
        let flags = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let auto = try train(["--epochs", "0"], environment: cleanEnvironment)
        if flags.contains("avx512f") && flags.contains("avx512bw") {
            XCTAssertEqual(auto.blasCore, "SkylakeX")
        } else if flags.contains("avx2") {
            XCTAssertEqual(auto.blasCore, "Haswell")
        }
        XCTAssertEqual(auto.blasCoreSelection, flags.contains("avx") ? "auto" : "openblas")
        XCTAssertGreaterThanOrEqual(auto.blasThreads, 1)

        var env = cleanEnvironment
        env["OPENBLAS_CORETYPE"] = "Haswell"
        let chosen = try train(["--epochs", "0"], environment: env)
        XCTAssertEqual(chosen.blasCore, "Haswell")
        XCTAssertEqual(chosen.blasCoreSelection, "user")
    }

    /// The same seed reproduces the same weights bit for bit; another seed does not.
    func testSeededRunsReproduce() throws {
        let a = try train(["--epochs", "1", "--seed", "3"])
        let b = try train(["--epochs", "1", "--seed", "3"])
        let c = try train(["--epochs", "1", "--seed", "4"])
        XCTAssertEqual(a.fingerprint, b.fingerprint)
        XCTAssertNotEqual(a.fingerprint, c.fingerprint)
    }
}
