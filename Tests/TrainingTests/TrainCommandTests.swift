import Foundation
import TestSupport
import XCTest

/// The training command end to end, as a user runs it: the release binary on the real MNIST
/// split (`make test` builds it and fetches the data first). The full recipes, trained to
/// convergence, are ConvergenceTests (`make test-long`).
final class TrainCommandTests: XCTestCase, TrainCommandRunner {
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
