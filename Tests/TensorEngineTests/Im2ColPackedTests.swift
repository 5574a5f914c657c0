import XCTest
@testable import TensorEngine

/// `Im2Col.unfoldPacked` against the two passes it replaces: the packed panels must equal
/// `PackedMatrix.pack(unfold(...))` bit for bit, the zeros past the last column included, on
/// every kernel's path (AVX-512's runs, shuffles and gathers; the portable copy, which the
/// AVX2 and portable kernels use), split
/// between cores or not.
final class Im2ColPackedTests: XCTestCase {
    /// (geometry, images side by side, extra channels around the geometry's in each image, as a
    /// group of a grouped convolution sees its images).
    let cases: [(ConvGeometry, Int, Int)] = [
        (ConvGeometry(channels: 1, height: 5, width: 5, kernel: (3, 3), stride: (1, 1), padding: (0, 0)), 1, 0),
        (ConvGeometry(channels: 2, height: 7, width: 6, kernel: (3, 2), stride: (2, 1), padding: (1, 0)), 3, 0),
        (ConvGeometry(channels: 3, height: 8, width: 9, kernel: (5, 5), stride: (1, 1), padding: (2, 2)), 2, 1),
        (ConvGeometry(channels: 2, height: 9, width: 7, kernel: (3, 3), stride: (2, 3), padding: (1, 2)), 3, 0),
        // 1×1: strided (a ResNet downsample, read in place) and pointwise, one and several images.
        (ConvGeometry(channels: 3, height: 9, width: 8, kernel: (1, 1), stride: (2, 2), padding: (0, 0)), 3, 2),
        (ConvGeometry(channels: 5, height: 6, width: 7, kernel: (1, 1), stride: (1, 1), padding: (0, 0)), 1, 0),
        (ConvGeometry(channels: 5, height: 6, width: 7, kernel: (1, 1), stride: (1, 1), padding: (0, 0)), 4, 3),
        // Asymmetric pads (top, left, bottom, right), dilation 2.
        (ConvGeometry(channels: 2, height: 10, width: 11, kernel: (3, 3), stride: (1, 1), pads: (0, 1, 2, 1)), 2, 0),
        (ConvGeometry(channels: 3, height: 11, width: 10, kernel: (3, 3), stride: (1, 1), pads: (2, 2, 2, 2), dilation: (2, 2)), 2, 0),
        (ConvGeometry(channels: 2, height: 13, width: 12, kernel: (3, 2), stride: (2, 2), pads: (1, 0, 2, 3), dilation: (2, 1)), 3, 1),
        // 7×7 stride 2 pad 3 (ResNet's stem): every panel of a row of 16 even columns, and at
        // 224 (784 panels) large enough to split between cores.
        (ConvGeometry(channels: 3, height: 40, width: 37, kernel: (7, 7), stride: (2, 2), padding: (3, 3)), 2, 0),
        (ConvGeometry(channels: 3, height: 224, width: 224, kernel: (7, 7), stride: (2, 2), padding: (3, 3)), 1, 0),
        // Wide stride-1 rows (one 16-float copy per panel row), and rows narrower than a panel.
        (ConvGeometry(channels: 4, height: 20, width: 56, kernel: (3, 3), stride: (1, 1), padding: (1, 1)), 1, 0),
        (ConvGeometry(channels: 64, height: 7, width: 7, kernel: (3, 3), stride: (1, 1), padding: (1, 1)), 6, 0),
        // Tiny planes: one pixel, 2×3 in a 3×3 window with padding.
        (ConvGeometry(channels: 4, height: 1, width: 1, kernel: (3, 3), stride: (1, 1), padding: (1, 1)), 5, 0),
        (ConvGeometry(channels: 3, height: 2, width: 3, kernel: (3, 3), stride: (1, 1), padding: (1, 1)), 3, 2),
        (ConvGeometry(channels: 2, height: 4, width: 4, kernel: (3, 3), stride: (2, 2), padding: (1, 1)), 7, 0),
    ]

    /// pack(unfold(...)), the forward path before `unfoldPacked`.
    func reference(_ x: UnsafePointer<Float>, images: Int, inPer: Int, _ g: ConvGeometry) -> [Float] {
        let (K, n) = (g.columnRows, images * g.patches)
        var col = [Float](repeating: .nan, count: K * n)
        var scratch = [Float](repeating: 0, count: Im2Col.scratchCount(g))
        var packed = [Float](repeating: .nan, count: PackedMatrix.packedCount(k: K, n: n))
        col.withUnsafeMutableBufferPointer { c in scratch.withUnsafeMutableBufferPointer { s in
            for i in 0..<images { Im2Col.unfold(x + i * inPer, g, into: c.baseAddress! + i * g.patches, ldcol: n, scratch: s.baseAddress!) }
            packed.withUnsafeMutableBufferPointer { PackedMatrix.pack(transposed: false, k: K, n: n, b: c.baseAddress!, ldb: n, into: $0.baseAddress!) }
        } }
        return packed
    }

    func unfoldPacked(_ x: UnsafePointer<Float>, images: Int, inPer: Int, _ g: ConvGeometry) -> [Float] {
        var packed = [Float](repeating: .nan, count: PackedMatrix.packedCount(k: g.columnRows, n: images * g.patches))
        var scratch = [Float](repeating: .nan, count: max(1, Im2Col.packedScratchCount(g, images: images)))
        packed.withUnsafeMutableBufferPointer { p in scratch.withUnsafeMutableBufferPointer { s in
            Im2Col.unfoldPacked(x, images: images, inPer: inPer, g, into: p.baseAddress!, scratch: s.baseAddress!)
        } }
        return packed
    }

    /// Fails naming the first differing float's panel, row and lane.
    func assertSame(_ got: [UInt32], _ want: [UInt32], rows: Int, _ what: String) {
        guard got.count == want.count else { return XCTFail("\(what): \(got.count) floats, want \(want.count)") }
        guard let i = got.indices.first(where: { got[$0] != want[$0] }) else { return }
        let (panel, rest) = i.quotientAndRemainder(dividingBy: 16 * rows)
        XCTFail("\(what): panel \(panel) row \(rest / 16) lane \(rest % 16) holds \(Float(bitPattern: got[i])), want \(Float(bitPattern: want[i]))")
    }

    func testPanelsEqualPackOfUnfoldBitForBit() {
        defer { PackedMatrix.force(nil) }
        for (ci, (g, images, extra)) in cases.enumerated() {
            XCTAssertTrue(g.isValid, "case \(ci)")
            let plane = g.height * g.width, inPer = (g.channels + extra) * plane
            var rng = SeededRNG(seed: UInt64(100 + ci))
            // Values of both signs, -0 included, so a copy that changed a bit would show.
            let data: [Float] = (0..<(images * inPer)).map { i in i % 11 == 0 ? -0.0 : rng.uniform(-2, 2) }
            // The geometry's channels start one plane into each image when it has extra ones.
            let first = extra > 0 ? plane : 0
            data.withUnsafeBufferPointer { xb in
                let x = xb.baseAddress! + first
                let want = reference(x, images: images, inPer: inPer, g).map(\.bitPattern)
                XCTAssertFalse(want.contains(Float.nan.bitPattern), "case \(ci): reference left a value unwritten")
                for kernel in PackedMatrix.availableKernels {
                    PackedMatrix.force(kernel)
                    // Outside a region (batch 1: split between cores when large) and inside one.
                    let alone = unfoldPacked(x, images: images, inPer: inPer, g).map(\.bitPattern)
                    assertSame(alone, want, rows: g.columnRows, "case \(ci) kernel \(kernel)")
                    var inside: [UInt32] = []
                    Parallel.forEachTask(2) { t, _ in
                        if t == 0 { inside = unfoldPacked(x, images: images, inPer: inPer, g).map(\.bitPattern) }
                    }
                    assertSame(inside, want, rows: g.columnRows, "case \(ci) kernel \(kernel) inside a region")
                }
            }
        }
    }

    /// A tap class's panels (`TapClasses.unfoldPacked`, the class product's input) against
    /// `PackedMatrix.pack` of its `unfold`, on the small planes the classes are for.
    func testTapClassPanelsEqualPackOfClassUnfold() {
        defer { PackedMatrix.force(nil) }
        let geometries = [
            ConvGeometry(channels: 5, height: 4, width: 4, kernel: (3, 3), stride: (1, 1), padding: (1, 1)),
            ConvGeometry(channels: 3, height: 2, width: 2, kernel: (3, 3), stride: (1, 1), padding: (1, 1)),
            ConvGeometry(channels: 4, height: 1, width: 1, kernel: (3, 3), stride: (1, 1), padding: (1, 1)),
            ConvGeometry(channels: 3, height: 4, width: 4, kernel: (3, 3), stride: (2, 2), padding: (1, 1)),
            ConvGeometry(channels: 2, height: 5, width: 6, kernel: (3, 3), stride: (1, 1), pads: (2, 2, 2, 2), dilation: (2, 2)),
            ConvGeometry(channels: 3, height: 3, width: 5, kernel: (3, 2), stride: (1, 2), pads: (0, 1, 2, 1)),
        ]
        for (gi, g) in geometries.enumerated() {
            let taps = TapClasses(g)
            let images = 3, inPer = (g.channels + 1) * g.height * g.width
            var rng = SeededRNG(seed: UInt64(300 + gi))
            let data: [Float] = (0..<(images * inPer)).map { i in i % 7 == 0 ? -0.0 : rng.uniform(-2, 2) }
            data.withUnsafeBufferPointer { xb in
                let x = xb.baseAddress! + g.height * g.width
                for (m, k) in taps.classes.enumerated() where k.taps > 0 {
                    let (rows, n) = (g.channels * k.taps, images * k.positions)
                    var col = [Float](repeating: .nan, count: rows * n)
                    var want = [Float](repeating: .nan, count: PackedMatrix.packedCount(k: rows, n: n))
                    col.withUnsafeMutableBufferPointer { c in
                        taps.unfold(m, x, images: images, inPer: inPer, into: c.baseAddress!, ldcol: n)
                        want.withUnsafeMutableBufferPointer {
                            PackedMatrix.pack(transposed: false, k: rows, n: n, b: c.baseAddress!, ldb: n, into: $0.baseAddress!)
                        }
                    }
                    for kernel in PackedMatrix.availableKernels {
                        PackedMatrix.force(kernel)
                        var got = [Float](repeating: .nan, count: want.count)
                        got.withUnsafeMutableBufferPointer { taps.unfoldPacked(m, x, images: images, inPer: inPer, into: $0.baseAddress!) }
                        assertSame(got.map(\.bitPattern), want.map(\.bitPattern), rows: rows, "geometry \(gi) class \(m) kernel \(kernel)")
                    }
                }
            }
        }
    }
}
