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

    /// Floats: every value, its position and the count matter; the contiguous and the generic
    /// paths agree; one float is the documented fold of the four lanes.
    func testFloatsMixEveryValueAndPosition() {
        func hash(_ v: [Float]) -> String { var f = Fingerprint(); f.add(floats: v); return f.hex }
        let base: [Float] = (0..<11).map { Float($0) * 0.25 }
        var seen = Set([hash(base)])
        for i in base.indices {
            var v = base
            v[i] += 1e-3
            XCTAssertTrue(seen.insert(hash(v)).inserted, "changing element \(i) changes the hash")
        }
        var swapped = base
        swapped.swapAt(2, 6)
        XCTAssertTrue(seen.insert(hash(swapped)).inserted, "order matters (2 and 6 share a lane)")
        XCTAssertTrue(seen.insert(hash(base + [0])).inserted, "the count matters")
        var generic = Fingerprint()
        generic.add(floats: base.lazy.map { $0 })
        XCTAssertEqual(generic.hex, hash(base))
        let p: UInt64 = 0x0000_0100_0000_01b3, h: UInt64 = 0xcbf2_9ce4_8422_2325
        let lanes = [(h ^ UInt64(Float(1).bitPattern)) &* p, h ^ 0x9e37_79b9_7f4a_7c15, h ^ 0xc2b2_ae3d_27d4_eb4f,
                     h ^ 0x1656_67b1_9e37_79f9, 1]
        let expected = lanes.reduce(h) { x, lane in (x ^ (lane ^ (lane >> 32))) &* p }
        XCTAssertEqual(hash([1]), String(format: "%016llx", expected))
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
