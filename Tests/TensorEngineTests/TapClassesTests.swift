import XCTest
@testable import TensorEngine

/// Tap classes (`TapClasses`) against the definition: every output position in exactly one
/// class, a class's live taps exactly the taps inside the image at each of its positions, and
/// a class's columns the dense columns' live rows at its positions.
final class TapClassesTests: XCTestCase {
    let geometries: [ConvGeometry] = [
        ConvGeometry(channels: 2, height: 1, width: 1, kernel: (3, 3), stride: (1, 1), padding: (1, 1)),
        ConvGeometry(channels: 2, height: 2, width: 2, kernel: (3, 3), stride: (1, 1), padding: (1, 1)),
        ConvGeometry(channels: 3, height: 5, width: 7, kernel: (3, 3), stride: (1, 1), padding: (1, 1)),
        ConvGeometry(channels: 2, height: 4, width: 4, kernel: (3, 3), stride: (2, 2), padding: (1, 1)),
        ConvGeometry(channels: 2, height: 3, width: 4, kernel: (3, 2), stride: (1, 2), pads: (2, 0, 1, 1)),
        ConvGeometry(channels: 2, height: 4, width: 5, kernel: (3, 3), stride: (1, 1), pads: (2, 2, 2, 2), dilation: (2, 2)),
        ConvGeometry(channels: 1, height: 6, width: 6, kernel: (7, 7), stride: (2, 2), padding: (3, 3)),
        // Positions with no live tap at all (the border of a padded 1×1 kernel).
        ConvGeometry(channels: 2, height: 2, width: 3, kernel: (1, 1), stride: (1, 1), padding: (1, 1)),
    ]

    func testClassesPartitionThePositionsByTheirLiveTaps() {
        for (gi, g) in geometries.enumerated() {
            let t = TapClasses(g)
            var seen = [Int](repeating: 0, count: g.patches)
            var live = 0
            for k in t.classes {
                for oy in k.rows {
                    for ox in k.columns {
                        seen[oy * g.outW + ox] += 1
                        for ki in 0..<g.kernelH {
                            for kj in 0..<g.kernelW {
                                let iy = oy * g.strideH - g.padH + ki * g.dilationH, ix = ox * g.strideW - g.padW + kj * g.dilationW
                                let inside = iy >= 0 && iy < g.height && ix >= 0 && ix < g.width
                                XCTAssertEqual(inside, k.kernelRows.contains(ki) && k.kernelColumns.contains(kj),
                                               "geometry \(gi) at \(oy),\(ox) tap \(ki),\(kj)")
                                if inside { live += 1 }
                            }
                        }
                    }
                }
            }
            XCTAssertEqual(seen, [Int](repeating: 1, count: g.patches), "geometry \(gi): each position in one class")
            XCTAssertEqual(t.liveFraction, Double(live) / Double(g.kernelH * g.kernelW * g.patches), accuracy: 1e-12)
        }
        // ResNet-18 at 32×32: layer4 (1×1), layer3 (2×2), layer2 (4×4), layer1 (8×8).
        let plane = { (s: Int) in TapClasses(ConvGeometry(channels: 1, height: s, width: s, kernel: (3, 3), stride: (1, 1), padding: (1, 1))) }
        XCTAssertEqual(plane(1).classes.count, 1)
        XCTAssertEqual(plane(1).liveFraction, 1.0 / 9, accuracy: 1e-12)
        XCTAssertEqual(plane(2).classes.count, 4)
        XCTAssertEqual(plane(2).liveFraction, 4.0 / 9, accuracy: 1e-12)
        XCTAssertEqual(plane(4).classes.count, 9)
        XCTAssertEqual(plane(4).liveFraction, 100.0 / 144, accuracy: 1e-12)
        XCTAssertEqual(plane(8).liveFraction, 484.0 / 576, accuracy: 1e-12)
        // Products of as many images as a batch of 64 gives them: the classes up to 80% live.
        XCTAssertNotNil(TapClasses.worthwhile(plane(4).geometry, images: 16))
        XCTAssertNotNil(TapClasses.worthwhile(plane(2).geometry, images: 32))
        XCTAssertNil(TapClasses.worthwhile(plane(8).geometry, images: 16), "84% live: the dense product")
        // One image: the 1×1 plane's class reads 1 filter value in 9 and stays; the 2×2 and 4×4
        // planes' classes would read 16 and 49 where the dense product reads 9, for 4 and 16
        // columns of multiply-adds.
        XCTAssertNotNil(TapClasses.worthwhile(plane(1).geometry, images: 1))
        XCTAssertNil(TapClasses.worthwhile(plane(2).geometry, images: 1))
        XCTAssertNil(TapClasses.worthwhile(plane(4).geometry, images: 1))
        // The stride-2 2×2→1×1 (4 live taps in one class) at one image.
        let down = ConvGeometry(channels: 1, height: 2, width: 2, kernel: (3, 3), stride: (2, 2), padding: (1, 1))
        XCTAssertEqual(TapClasses.worthwhile(down, images: 1)?.classes.map(\.taps), [4])
    }

    func testClassColumnsAreTheDenseColumnsLiveRows() {
        for (gi, g) in geometries.enumerated() {
            var rng = SeededRNG(seed: UInt64(gi))
            let x = (0..<(g.channels * g.height * g.width)).map { _ in rng.uniform(-1, 1) }
            var dense = [Float](repeating: .nan, count: g.columnRows * g.patches)
            x.withUnsafeBufferPointer { xp in dense.withUnsafeMutableBufferPointer { d in
                Im2Col.unfold(xp.baseAddress!, g, into: d.baseAddress!, ldcol: g.patches)
            } }
            let t = TapClasses(g)
            for (m, k) in t.classes.enumerated() {
                // Two images (the same one twice, a plane apart) and a wider row stride.
                let ld = 2 * k.positions + 2
                var col = [Float](repeating: .nan, count: max(1, g.channels * k.taps * ld))
                (x + x).withUnsafeBufferPointer { xp in col.withUnsafeMutableBufferPointer { cp in
                    t.unfold(m, xp.baseAddress!, images: 2, inPer: x.count, into: cp.baseAddress!, ldcol: ld)
                } }
                var r = 0
                for c in 0..<g.channels { for ki in k.kernelRows { for kj in k.kernelColumns {
                    let row = (c * g.kernelH + ki) * g.kernelW + kj
                    for (j, (oy, ox)) in k.rows.flatMap({ oy in k.columns.map { (oy, $0) } }).enumerated() {
                        for image in 0..<2 {
                            XCTAssertEqual(col[r * ld + image * k.positions + j].bitPattern, dense[row * g.patches + oy * g.outW + ox].bitPattern,
                                           "geometry \(gi) class \(m) row \(row) at \(oy),\(ox)")
                        }
                    }
                    XCTAssertTrue(col[r * ld + 2 * k.positions].isNaN, "wrote past the positions")
                    r += 1
                } } }
            }
        }
    }

    /// Folding the class matrices adds what `Im2Col.fold` adds, in its order: the same bits. The
    /// dense matrix holds NaN at every dead entry, so a fold that read one would show it.
    func testClassFoldIsTheDenseFold() {
        for (gi, g) in geometries.enumerated() {
            let t = TapClasses(g), images = 3, P = g.patches, ld = images * P
            var rng = SeededRNG(seed: 50 + UInt64(gi))
            var dense = [Float](repeating: .nan, count: g.columnRows * ld)
            var classes: [Float] = []
            for k in t.classes {
                for c in 0..<g.channels { for ki in k.kernelRows { for kj in k.kernelColumns {
                    let row = (c * g.kernelH + ki) * g.kernelW + kj
                    for i in 0..<images { for oy in k.rows { for ox in k.columns {
                        let v: Float = rng.uniform(-1, 1) * Float(1 << (oy % 3 * 8))   // magnitudes apart: order matters
                        dense[row * ld + i * P + oy * g.outW + ox] = v
                        classes.append(v)
                    } } }
                } } }
            }
            let inPer = g.channels * g.height * g.width
            let start = (0..<(images * inPer)).map { _ in rng.uniform(-1, 1) }
            var want = start, got = start
            dense.withUnsafeBufferPointer { d in want.withUnsafeMutableBufferPointer { w in
                for i in 0..<images { Im2Col.fold(d.baseAddress! + i * P, ldcol: ld, g, into: w.baseAddress! + i * inPer) }
            } }
            classes.withUnsafeBufferPointer { c in got.withUnsafeMutableBufferPointer { w in
                t.fold(c.baseAddress!, images: images, inPer: inPer, into: w.baseAddress!)
            } }
            XCTAssertEqual(got.map(\.bitPattern), want.map(\.bitPattern), "geometry \(gi)")
            XCTAssertFalse(want.contains { $0.isNaN }, "geometry \(gi): the dense fold reads live entries only")
        }
    }
}
