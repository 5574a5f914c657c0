import Foundation
import TensorEngine
import XCTest

final class FingerprintTests: XCTestCase {
    /// Byte-wise mixing is FNV-1a 64: the published test vectors.
    func testBytesFollowFNV1a64Vectors() {
        var empty = Fingerprint()
        empty.add(bytes: [UInt8]())
        XCTAssertEqual(empty.hex, "cbf29ce484222325")
        var a = Fingerprint()
        a.add("a")
        XCTAssertEqual(a.hex, "af63dc4c8601ec8c")
        var foobar = Fingerprint()
        foobar.add("foobar")
        XCTAssertEqual(foobar.hex, "85944171f73967e8")
    }

    /// Floats mix one 32-bit pattern at a time: one step of FNV-1a on the whole word.
    func testFloatsMixWholeBitPatterns() {
        var f = Fingerprint()
        f.add(floats: [Float(1)])
        let expected = (0xcbf2_9ce4_8422_2325 ^ UInt64(Float(1).bitPattern)) &* 0x0000_0100_0000_01b3
        XCTAssertEqual(f.hex, String(format: "%016llx", expected))
    }

    /// An image's fingerprint does not depend on its batch or position; -0 and 0 differ (bits).
    func testInputFingerprintIsPerImage() {
        let x: [Float] = [0.1, 0.2, 0.3, 0.4]
        let y: [Float] = [0.5, 0.6, 0.7, 0.8]
        let inBatch = Fingerprint.inputs(y + x, count: 2)
        XCTAssertEqual(inBatch, [Fingerprint.input(y), Fingerprint.input(x)])
        XCTAssertEqual(Fingerprint.input(x), Fingerprint.input(x[...]))
        XCTAssertNotEqual(Fingerprint.input(x), Fingerprint.input(y))
        XCTAssertNotEqual(Fingerprint.input([Float(0)]), Fingerprint.input([Float(-0.0)]))
        XCTAssertEqual(Fingerprint.input(x).count, 16)
    }
}
