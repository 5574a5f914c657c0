import Foundation
import TestSupport
import XCTest

/// The summary `advlens-train --json` prints.
struct TrainCommandSummary: Decodable {
    var architecture: String
    var blasCore: String
    var blasCoreSelection: String
    var blasThreads: Int
    var trainImages: Int
    var testImages: Int
    var testAccuracy: Double
    var fingerprint: String
}

/// Runs `.build/release/advlens-train --json` and decodes its summary (TrainCommandTests and
/// ConvergenceTests).
protocol TrainCommandRunner {}

extension TrainCommandRunner {
    func train(_ arguments: [String], environment: [String: String]? = nil) throws -> TrainCommandSummary {
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
        return try JSONDecoder().decode(TrainCommandSummary.self, from: data)
    }

    /// Environment without any OpenBLAS core choice, so the binary picks one itself.
    var cleanEnvironment: [String: String] {
        ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("OPENBLAS_CORETYPE") && $0.key != "ADVLENS_BLAS_REEXEC" }
    }

}
