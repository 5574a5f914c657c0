import TensorEngine

/// `ShapesGenerator`: the seeded procedural "shapes and parts" dataset (docs/shapes.md).
///
/// Image i of seed s is drawn from its own generator, `SeededRNG(seed: imageSeed(s, i))`, so
/// it does not depend on how many images are made, and images are made in parallel. Its class
/// is `i % classCount` (every class equally often). Drawing, in order:
/// 1. Background: a base colour (each channel 60 + below(120)) plus per-pixel noise in
///    -20...20 per channel (three 16-bit fields f of one `next()`, noise = f * 41 >> 16 - 20),
///    clamped to 0...253 and moved up by one when a multiple of 5, so no background pixel
///    has a palette colour.
/// 2. Two to five distractors in palette colours (small rectangles, discs, 1-pixel lines),
///    anywhere; they belong to no part.
/// 3. The object: side 30...60 pixels, at a random position inside the image, mirrored
///    left-right half the time, its parts drawn by `ShapesSketch` (ShapesObjects.swift).
/// Only integer arithmetic decides pixels; a pixel's value is byte / 255 (an exactly rounded
/// division), so the same seed gives the same images and masks on every machine.
public enum ShapesGenerator {
    public static let side = ShapesCatalog.side
    public static let classCount = ShapesCatalog.ObjectClass.allCases.count
    public static let minObjectSide = 30, maxObjectSide = 60

    /// What was drawn in one image.
    public struct Scene: Sendable {
        public var objectClass: ShapesCatalog.ObjectClass
        /// The object's box in pixels: x0..<x1, y0..<y1 (parts stay inside it).
        public var x0: Int, y0: Int, x1: Int, y1: Int
        /// The parts the object was built from.
        public var parts: Set<ShapesCatalog.Part>
    }

    /// The seed of image `index`'s own generator.
    public static func imageSeed(_ seed: UInt64, _ index: Int) -> UInt64 {
        mix(mix(seed) &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15)
    }

    /// MurmurHash3's 64-bit finaliser.
    private static func mix(_ v: UInt64) -> UInt64 {
        var z = v
        z = (z ^ (z >> 33)) &* 0xFF51_AFD7_ED55_8CCD
        z = (z ^ (z >> 33)) &* 0xC4CE_B9FE_1A85_EC53
        return z ^ (z >> 33)
    }

    /// Draws image `index` of seed `seed`: its pixels with per-pixel part, colour and texture,
    /// and its scene.
    public static func render(index: Int, seed: UInt64) -> (canvas: ShapesCanvas, scene: Scene) {
        var rng = SeededRNG(seed: imageSeed(seed, index))
        var canvas = ShapesCanvas()
        background(&canvas, &rng)
        distractors(&canvas, &rng)
        let object = ShapesCatalog.ObjectClass.allCases[index % classCount]
        let size = minObjectSide + rng.next(below: maxObjectSide - minObjectSide + 1)
        let ox = rng.next(below: side - size + 1), oy = rng.next(below: side - size + 1)
        let flip = rng.next(below: 2) == 1
        var sketch = ShapesSketch(canvas: canvas, rng: rng, ox: ox, oy: oy, size: size, flip: flip)
        sketch.draw(object)
        return (sketch.canvas, Scene(objectClass: object, x0: ox, y0: oy, x1: ox + size, y1: oy + size, parts: sketch.drawn))
    }

    private static func background(_ canvas: inout ShapesCanvas, _ rng: inout SeededRNG) {
        let base = (0..<3).map { _ in 60 + rng.next(below: 120) }
        canvas.rgb.withUnsafeMutableBufferPointer { rgb in
            for p in 0..<side * side {
                let bits = rng.next()
                for c in 0..<3 {
                    let noise = (Int((bits >> (16 * UInt64(c))) & 0xFFFF) * 41) >> 16 - 20
                    var v = min(253, max(0, base[c] + noise))
                    if v % 5 == 0 { v += 1 }
                    rgb[3 * p + c] = UInt8(v)
                }
            }
        }
    }

    private static func distractors(_ canvas: inout ShapesCanvas, _ rng: inout SeededRNG) {
        for _ in 0..<(2 + rng.next(below: 4)) {
            let paint = ShapesPaint(ShapesCatalog.Colour.allCases[rng.next(below: ShapesCatalog.Colour.allCases.count)])
            let x = rng.next(below: side), y = rng.next(below: side)
            switch rng.next(below: 3) {
            case 0:
                canvas.fillRect(x0: x, y0: y, x1: x + 2 + rng.next(below: 4), y1: y + 2 + rng.next(below: 4), paint, nil)
            case 1:
                canvas.fillEllipse(cx: x, cy: y, rx: 1 + rng.next(below: 3), ry: 1 + rng.next(below: 3), paint, nil)
            default:
                let length = 4 + rng.next(below: 9)
                if rng.next(below: 2) == 0 {
                    canvas.fillRect(x0: x, y0: y, x1: x + length, y1: y + 1, paint, nil)
                } else {
                    canvas.fillRect(x0: x, y0: y, x1: x + 1, y1: y + length, paint, nil)
                }
            }
        }
    }

    /// The largest `count` `generate` accepts with masks, and without.
    public static let maxCountWithMasks = 5_000, maxCount = 20_000

    /// `count` images of seed `seed` as a dataset named `name`: images [count, 3, 64, 64] in
    /// [0, 1], labels, the class names, the class-similarity matrix, and (when `masks`) the
    /// concept masks of `ShapesCatalog.conceptNames`.
    public static func generate(count: Int, seed: UInt64, masks: Bool = true, name: String = "shapes") throws -> Dataset {
        let limit = masks ? maxCountWithMasks : maxCount
        guard count > 0, count <= limit else {
            throw DataError.invalidArgument("count must be in 1...\(limit)\(masks ? " with masks" : ""), got \(count)")
        }
        let pixels = side * side, concepts = ShapesCatalog.conceptNames.count
        // Each image's masks are packed in parallel with its pixels, then appended in order.
        var perImage = [ConceptMasks.ImageMasks](repeating: ConceptMasks.ImageMasks(concepts: concepts, pixels: pixels), count: masks ? count : 0)
        let images = Tensor(uninitializedShape: [count, 3, side, side]) { out in
            perImage.withUnsafeMutableBufferPointer { perImage in
                Parallel.forRanges(count, grain: 8) { range in
                    for i in range {
                        let canvas = render(index: i, seed: seed).canvas
                        let image = out.baseAddress! + i * 3 * pixels
                        for p in 0..<pixels {
                            for c in 0..<3 { image[c * pixels + p] = Float(canvas.rgb[3 * p + c]) / 255 }
                        }
                        guard masks else { continue }
                        var m = ConceptMasks.ImageMasks(concepts: concepts, pixels: pixels)
                        let object = ShapesCatalog.concept(ShapesCatalog.ObjectClass.allCases[i % classCount])
                        for p in 0..<pixels {
                            let part = canvas.part[p], colour = canvas.colour[p], texture = canvas.texture[p]
                            if part != ShapesCanvas.noPart {
                                m.set(concept: Int(part), pixel: p)
                                m.set(concept: object, pixel: p)
                            }
                            if colour != ShapesCanvas.none {
                                m.set(concept: ShapesCatalog.concept(ShapesCatalog.Colour.allCases[Int(colour)]), pixel: p)
                            }
                            if texture != ShapesCanvas.none {
                                m.set(concept: ShapesCatalog.concept(ShapesCatalog.Texture.allCases[Int(texture)]), pixel: p)
                            }
                        }
                        perImage[i] = m
                    }
                }
            }
        }
        let labels = (0..<count).map { $0 % classCount }
        var conceptMasks: ConceptMasks?
        if masks {
            var all = ConceptMasks(names: ShapesCatalog.conceptNames, kinds: ShapesCatalog.conceptKinds, height: side, width: side)
            for m in perImage { all.append(m) }
            conceptMasks = all
        }
        return Dataset(name: name, images: images, labels: labels, classes: ShapesCatalog.classNames,
                       concepts: conceptMasks, classSimilarity: ShapesCatalog.classSimilarity)
    }
}
