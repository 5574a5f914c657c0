import TensorEngine
import XCTest
@testable import Data

/// The bit-packed concept masks give back exactly the dense masks they were made from, and the
/// CSV reader the concept-set loader uses keeps quoted fields and names the line of an error.
final class ConceptMasksTests: XCTestCase {
    /// Random dense masks on grids whose pixel counts are and are not multiples of 64, with
    /// empty and full planes among them: every mask reads back byte for byte, empty masks are
    /// not stored, full ones are stored as whole-image flags, and a subset (with a repeat) keeps
    /// its images' masks.
    func testPackedMasksReadBackTheDenseOnes() {
        var rng = SeededRNG(seed: 11)
        for (h, w) in [(4, 4), (7, 9), (8, 8), (13, 5)] {
            let concepts = 5, images = 6, plane = h * w
            var dense = [UInt8](repeating: 0, count: images * concepts * plane)
            for i in 0..<images {
                for c in 0..<concepts {
                    let base = (i * concepts + c) * plane
                    switch (i + c) % 4 {
                    case 0: break   // empty
                    case 1: for p in 0..<plane { dense[base + p] = 1 }   // full
                    default: for p in 0..<plane { dense[base + p] = rng.next(below: 3) == 0 ? 1 : 0 }
                    }
                }
            }
            let m = ConceptMasks(names: (0..<concepts).map { "c\($0)" }, kinds: Array(repeating: "part", count: concepts),
                                 height: h, width: w, bits: dense)
            XCTAssertEqual(m.imageCount, images)
            for i in 0..<images {
                for c in 0..<concepts {
                    let base = (i * concepts + c) * plane
                    XCTAssertEqual(m.mask(image: i, concept: c), Array(dense[base..<base + plane]), "\(h)x\(w) image \(i) concept \(c)")
                }
                let entries = m.entries(image: i)
                XCTAssertEqual(entries.map(\.concept), (0..<concepts).filter { c in dense[(i * concepts + c) * plane..<(i * concepts + c + 1) * plane].contains(1) })
                for e in entries {
                    let base = (i * concepts + e.concept) * plane
                    XCTAssertEqual(e.area, dense[base..<base + plane].reduce(0) { $0 + Int($1) })
                    XCTAssertEqual(e.words == nil, e.area == plane)
                }
            }
            let picked = m.subset([4, 1, 4])
            XCTAssertEqual(picked.imageCount, 3)
            for (k, i) in [4, 1, 4].enumerated() {
                for c in 0..<concepts { XCTAssertEqual(picked.mask(image: k, concept: c), m.mask(image: i, concept: c)) }
            }
        }
    }

    /// Pixels set one at a time and whole-image labels, as the loaders build an image.
    func testImageMasksBuiltPixelByPixel() {
        var m = ConceptMasks(names: ["a", "b", "scene"], kinds: ["object", "colour", "scene"], height: 3, width: 30)
        var image = ConceptMasks.ImageMasks(concepts: 3, pixels: 90)
        for p in [0, 63, 64, 89] { image.set(concept: 1, pixel: p) }
        image.setWhole(concept: 2)
        m.append(image)
        m.append(ConceptMasks.ImageMasks(concepts: 3, pixels: 90))
        XCTAssertEqual(m.entries(image: 0).map(\.concept), [1, 2])
        XCTAssertEqual(m.mask(image: 0, concept: 1).indices.filter { m.mask(image: 0, concept: 1)[$0] == 1 }, [0, 63, 64, 89])
        XCTAssertEqual(m.mask(image: 0, concept: 2), [UInt8](repeating: 1, count: 90))
        XCTAssertEqual(m.mask(image: 0, concept: 0), [UInt8](repeating: 0, count: 90))
        XCTAssertTrue(m.entries(image: 1).isEmpty)
    }

    func testCSVQuotesLineBreaksAndErrors() throws {
        let text = "\u{FEFF}number,name,category\r\n1,\"red, dark\",color(3)\r\n\r\n2,\"say \"\"hi\"\"\nthere\",object\n3,x,part"
        let t = try CSVTable.parse(Array(text.utf8), path: "label.csv")
        XCTAssertEqual(t.header, ["number", "name", "category"])
        XCTAssertEqual(t.rows.map(\.fields), [["1", "red, dark", "color(3)"], ["2", "say \"hi\"\nthere", "object"], ["3", "x", "part"]])
        XCTAssertEqual(t.rows.map(\.line), [2, 4, 6])
        XCTAssertEqual(t.error(t.rows[1], 2, "bad").description, "label.csv: line 4, column 3: field \"category\": bad")
        XCTAssertThrowsError(try CSVTable.parse(Array("a,b\n1,2,3\n".utf8), path: "i.csv")) {
            XCTAssertEqual("\($0)", "i.csv: line 2, column 3: 3 fields, but the header has 2")
        }
        XCTAssertThrowsError(try CSVTable.parse(Array("a,b\n1,\"2\n".utf8), path: "i.csv")) {
            XCTAssertEqual("\($0)", "i.csv: line 2, column 2: a quoted field is not closed")
        }
        XCTAssertThrowsError(try t.column("frequency")) {
            XCTAssertEqual("\($0)", "label.csv: line 1, column 4: no column \"frequency\" in the header (number,name,category)")
        }
    }
}
