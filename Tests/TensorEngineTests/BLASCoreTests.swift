import Foundation
import XCTest
@testable import TensorEngine

final class BLASCoreTests: XCTestCase {
    func testBestCoreFromFlags() {
        XCTAssertEqual(BLASCore.best(forFlags: ["avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"]), "SkylakeX")
        XCTAssertEqual(BLASCore.best(forFlags: ["avx", "avx2", "fma", "avx512f"]), "Haswell")
        XCTAssertEqual(BLASCore.best(forFlags: ["avx", "avx2", "fma"]), "Haswell")
        XCTAssertEqual(BLASCore.best(forFlags: ["avx", "sse4_2"]), "Sandybridge")
        XCTAssertNil(BLASCore.best(forFlags: ["sse2"]))
    }

    func testParsesCpuinfoFlags() {
        let text = "processor\t: 0\nmodel name\t: Test CPU\nflags\t\t: fpu sse2 avx avx2 fma\n\nprocessor\t: 1\nflags\t\t: fpu\n"
        XCTAssertEqual(BLASCore.cpuFlags(cpuinfo: text), ["fpu", "sse2", "avx", "avx2", "fma"])
        XCTAssertEqual(BLASCore.cpuFlags(cpuinfo: nil), [])
    }

    /// This process's OpenBLAS reports a core and at least one thread. (The re-exec itself is
    /// tested end to end on the executables: see TrainingTests.)
    func testRuntimeReportsCoreAndThreads() {
        XCTAssertFalse(BLAS.coreName.isEmpty)
        XCTAssertGreaterThanOrEqual(BLAS.threads, 1)
        XCTAssertTrue(BLAS.configuration.contains("OpenBLAS"))
    }
}
