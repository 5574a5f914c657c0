import Foundation
import TensorEngine
import XCTest
@testable import Data

/// The procedural shapes set: reproducible to the bit, and its masks agree with its pixels.
final class ShapesTests: XCTestCase {
    typealias Catalog = ShapesCatalog

    /// FNV-1a over the float bits of the images and the mask bytes ([image][concept][y][x] as
    /// 0/1 bytes: the hash committed when masks were stored so, kept through the bit packing).
    func fingerprint(_ d: Dataset) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        func eat(_ b: UInt8) { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
        for v in d.images.data { let bits = v.bitPattern; for k in 0..<4 { eat(UInt8((bits >> (8 * k)) & 0xFF)) } }
        let m = d.concepts!
        for i in 0..<m.imageCount { for c in 0..<m.conceptCount { m.mask(image: i, concept: c).forEach(eat) } }
        for l in d.labels { eat(UInt8(l)) }
        return h
    }

    /// Computed once from this implementation and committed: any change to how images or
    /// masks are drawn (or a platform drawing differently) changes it.
    func testSameSeedGivesTheCommittedImagesAndMasks() throws {
        let d = try ShapesGenerator.generate(count: 24, seed: 7)
        XCTAssertEqual(String(fingerprint(d), radix: 16), "9f503a400cf0f62e")
        // Bit-packed, only the concepts an image shows: a fraction of the 44 bytes a pixel the
        // dense masks took (print the figure docs/shapes.md quotes).
        let dense = 24 * d.concepts!.conceptCount * 64 * 64
        print("shapes masks: \(d.concepts!.byteCount) bytes for 24 images, dense \(dense)")
        XCTAssertLessThan(d.concepts!.byteCount * 20, dense)
        XCTAssertEqual(fingerprint(try ShapesGenerator.generate(count: 24, seed: 7)), fingerprint(d))
    }

    func testImagesDoNotDependOnCountAndSeedsDiffer() throws {
        let small = try ShapesGenerator.generate(count: 10, seed: 3)
        let large = try ShapesGenerator.generate(count: 30, seed: 3)
        XCTAssertEqual(Array(large.images.data.prefix(small.images.count)), small.images.data)
        for i in 0..<10 {
            for c in 0..<small.concepts!.conceptCount {
                XCTAssertEqual(large.concepts!.mask(image: i, concept: c), small.concepts!.mask(image: i, concept: c))
            }
        }
        let other = try ShapesGenerator.generate(count: 10, seed: 4)
        XCTAssertNotEqual(other.images.data, small.images.data)
    }

    func testShapeLabelsClassesAndSimilarity() throws {
        let d = try ShapesGenerator.generate(count: 45, seed: 1)
        XCTAssertEqual(d.images.shape, [45, 3, 64, 64])
        XCTAssertEqual(d.classes, ["car", "bus", "boat", "house", "tower", "face", "robot", "tree", "flower"])
        XCTAssertEqual(d.classCounts, Array(repeating: 5, count: 9))
        XCTAssertTrue(d.images.data.allSatisfy { $0 >= 0 && $0 <= 1 })
        let a = try XCTUnwrap(d.classSimilarity), n = d.classes.count
        XCTAssertEqual(a.count, n * n)
        let car = 0, bus = 1, house = 3, tree = 7, flower = 8
        XCTAssertEqual(a[car * n + car], 1)
        XCTAssertEqual(a[car * n + bus], 0.5)
        XCTAssertEqual(a[tree * n + flower], 0.5)
        XCTAssertEqual(a[car * n + house], 0)
        for i in 0..<n { for j in 0..<n { XCTAssertEqual(a[i * n + j], a[j * n + i]) } }
        let masks = try XCTUnwrap(d.concepts)
        XCTAssertEqual(masks.names.count, masks.kinds.count)
        XCTAssertEqual(Set(masks.kinds), ["part", "colour", "texture", "object"])
        XCTAssertEqual(masks.imageCount, 45)
    }

    /// Every drawn part is visible and inside the object's box; the object mask is the union
    /// of the part masks and holds only this image's class.
    func testPartMasksAreNonEmptyAndInsideTheirObject() throws {
        let count = 270, seed: UInt64 = 11
        let d = try ShapesGenerator.generate(count: count, seed: seed)
        let m = d.concepts!, side = 64
        for i in 0..<count {
            let scene = ShapesGenerator.render(index: i, seed: seed).scene
            XCTAssertEqual(scene.objectClass.rawValue, d.labels[i])
            XCTAssertGreaterThanOrEqual(scene.parts.count, 2)
            var union = [UInt8](repeating: 0, count: side * side)
            for part in Catalog.Part.allCases {
                let mask = Array(m.mask(image: i, concept: Catalog.concept(part)))
                let pixels = mask.indices.filter { mask[$0] == 1 }
                XCTAssertEqual(!pixels.isEmpty, scene.parts.contains(part), "image \(i) (\(scene.objectClass)) part \(part)")
                for p in pixels {
                    let (x, y) = (p % side, p / side)
                    XCTAssertTrue(x >= scene.x0 && x < scene.x1 && y >= scene.y0 && y < scene.y1, "image \(i) \(part) at \(x),\(y)")
                    union[p] = 1
                }
            }
            for object in Catalog.ObjectClass.allCases {
                let mask = Array(m.mask(image: i, concept: Catalog.concept(object)))
                XCTAssertEqual(mask, object == scene.objectClass ? union : [UInt8](repeating: 0, count: side * side))
            }
        }
    }

    /// The same over many more scenes (300 of each class), straight from the renderer: every
    /// drawn part shows, and only inside the object's box.
    func testPartsStayVisibleAndInsideTheBoxOverManyScenes() {
        let side = 64
        for i in 0..<2_700 {
            let (canvas, scene) = ShapesGenerator.render(index: i, seed: 99)
            var seen = Set<UInt8>()
            for p in 0..<side * side where canvas.part[p] != ShapesCanvas.noPart {
                seen.insert(canvas.part[p])
                let (x, y) = (p % side, p / side)
                if !(x >= scene.x0 && x < scene.x1 && y >= scene.y0 && y < scene.y1) {
                    XCTFail("image \(i) (\(scene.objectClass)): part \(canvas.part[p]) at \(x),\(y) outside the box")
                    break
                }
            }
            XCTAssertEqual(seen, Set(scene.parts.map { UInt8($0.rawValue) }), "image \(i) (\(scene.objectClass))")
        }
    }

    /// A pixel is in colour c's mask exactly when it shows colour c's palette value; texture
    /// masks cover object pixels only, one texture each; patterned parts use two colours.
    func testColourAndTextureMasksMatchThePixels() throws {
        let count = 90
        let d = try ShapesGenerator.generate(count: count, seed: 5)
        let m = d.concepts!, plane = 64 * 64
        var patterned = 0
        for i in 0..<count {
            let object = Array(m.mask(image: i, concept: Catalog.concept(Catalog.ObjectClass.allCases[d.labels[i]])))
            let colourMasks = Catalog.Colour.allCases.map { Array(m.mask(image: i, concept: Catalog.concept($0))) }
            let textureMasks = Catalog.Texture.allCases.map { Array(m.mask(image: i, concept: Catalog.concept($0))) }
            patterned += textureMasks.dropFirst().filter { $0.contains(1) }.count
            for p in 0..<plane {
                let rgb = (0..<3).map { UInt8((d.images.data[(i * 3 + $0) * plane + p] * 255).rounded()) }
                for (c, colour) in Catalog.Colour.allCases.enumerated() {
                    let (r, g, b) = colour.rgb
                    XCTAssertEqual(colourMasks[c][p] == 1, rgb == [r, g, b], "image \(i) pixel \(p) colour \(colour)")
                }
                let textures = textureMasks.map { Int($0[p]) }.reduce(0, +)
                XCTAssertEqual(textures, Int(object[p]), "image \(i) pixel \(p): one texture per object pixel")
                if object[p] == 1 { XCTAssertEqual(colourMasks.map { Int($0[p]) }.reduce(0, +), 1) }
            }
        }
        XCTAssertGreaterThan(patterned, count / 2, "striped, dotted and checkered parts appear")
    }

    func testRefusesCountsOutOfRange() {
        XCTAssertThrowsError(try ShapesGenerator.generate(count: 0, seed: 0))
        XCTAssertThrowsError(try ShapesGenerator.generate(count: ShapesGenerator.maxCountWithMasks + 1, seed: 0))
    }
}
