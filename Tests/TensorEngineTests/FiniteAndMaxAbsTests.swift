import XCTest
@testable import TensorEngine

/// `allFinite` and `maxAbs` (sixteen lanes at a time) against their one-value definitions:
/// lengths around the lane width, and a NaN, an infinity or the largest magnitude placed in
/// the vector part and in the tail, and a tensor split over the cores.
final class FiniteAndMaxAbsTests: XCTestCase {
    func testMatchTheScalarDefinitions() {
        var rng = SeededRNG(seed: 5)
        // The last count is above Tensor.parallelReduction: checked in parallel ranges.
        for count in [0, 1, 15, 16, 17, 31, 32, 33, 1000, 2_097_169] {
            let values = (0..<count).map { _ in rng.nextNormal() }
            var cases: [(String, [Float])] = [("plain", values)]
            for at in Set([0, count / 2, count - 1]) where at >= 0 && at < count {
                for (name, v) in [("nan", Float.nan), ("inf", Float.infinity), ("-inf", -Float.infinity), ("big", Float(-1e30))] {
                    var c = values; c[at] = v; cases.append(("\(name) at \(at)", c))
                }
            }
            for (name, c) in cases {
                let t = Tensor(shape: [c.count], data: c)
                XCTAssertEqual(t.allFinite, c.allSatisfy(\.isFinite), "\(count) values, \(name)")
                let want = c.reduce(Float(0)) { Swift.max($0, abs($1)) }
                XCTAssertEqual(t.maxAbs().bitPattern, want.bitPattern, "\(count) values, \(name)")
            }
        }
    }

    /// `axpy` on a tensor split over the cores gives each element its one-value expression,
    /// y + alpha·x, bit for bit (a training step sums two passes' gradients this way).
    func testAxpyMatchesTheScalarDefinitionOverTheCores() {
        var rng = SeededRNG(seed: 6)
        let n = 2_097_169
        let x = (0..<n).map { _ in rng.nextNormal() }, y = (0..<n).map { _ in rng.nextNormal() }
        var t = Tensor(shape: [n], data: y)
        t.axpy(-0.37, Tensor(shape: [n], data: x))
        let want = zip(y, x).map { $0 + -0.37 * $1 }
        XCTAssertEqual(t.data.map(\.bitPattern), want.map(\.bitPattern))
    }
}
