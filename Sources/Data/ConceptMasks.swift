/// `ConceptMasks`: per-pixel masks of named concepts (parts, colours, objects, materials,
/// scenes, textures) for every image of a dataset, as Network Dissection needs them.

/// Why bit-packed and sparse: a concept set has many concepts (Broden: 1,197) of which an image
/// shows a few, and a mask is one bit a pixel. So each image keeps only the concepts present in
/// it, each as one bit a pixel in 64-bit words, or, when it covers every pixel (a scene or a
/// texture label of the whole image), as a flag with no words. 5,000 shapes images with 24
/// concepts at 64 × 64 took 490 MB at one byte a pixel a concept; packed they take ~12 MB.
///
/// All masks share one grid of `height` × `width` pixels, laid over the whole image (it need not
/// be the image's resolution: Broden's masks are half its images' size). Bit p of a mask (word
/// p / 64, bit p % 64) is pixel p = y · width + x, row-major. Entries are canonical: an empty
/// mask is not stored, a full one is always the flag, and an image's entries ascend by concept.
public struct ConceptMasks: Sendable {
    /// Concept names, e.g. "wheel", "red", "striped"; index = concept id.
    public var names: [String]
    /// The category of each concept ("part", "colour", "texture", "object", ...), same order
    /// as `names`.
    public var kinds: [String]
    public let height: Int
    public let width: Int
    /// Image i's entries are `entryStart[i] ..< entryStart[i + 1]`.
    private var entryStart: [Int] = [0]
    /// Per entry: its concept, its pixel count, and the offset of its words in `words`
    /// (`ConceptMasks.whole` for a mask covering the whole image, which has none).
    private var entryConcept: [Int32] = []
    private var entryArea: [Int32] = []
    private var entryWords: [Int] = []
    private var words: [UInt64] = []

    static let whole = -1

    /// No images yet; `append` adds them.
    public init(names: [String], kinds: [String], height: Int, width: Int) {
        precondition(names.count == kinds.count, "ConceptMasks: \(names.count) names, \(kinds.count) kinds")
        precondition(height > 0 && width > 0 && height * width < Int(Int32.max), "ConceptMasks: a \(height) x \(width) grid")
        self.names = names
        self.kinds = kinds
        self.height = height
        self.width = width
    }

    /// From dense masks, [image][concept][y][x] of 0/1 bytes (hand-made sets, tests).
    public init(names: [String], kinds: [String], height: Int, width: Int, bits: [UInt8]) {
        self.init(names: names, kinds: kinds, height: height, width: width)
        let perImage = names.count * height * width
        precondition(perImage > 0 && bits.count % perImage == 0, "ConceptMasks: \(bits.count) bytes is not a whole number of images")
        bits.withUnsafeBufferPointer { all in
            for i in 0..<bits.count / perImage { appendDense(UnsafeBufferPointer(rebasing: all[i * perImage..<(i + 1) * perImage])) }
        }
    }

    public var conceptCount: Int { names.count }
    public var pixelsPerMask: Int { height * width }
    /// 64-bit words one stored mask takes.
    public var wordsPerMask: Int { (pixelsPerMask + 63) / 64 }
    /// Number of images the masks cover.
    public var imageCount: Int { entryStart.count - 1 }
    /// Bytes held (what the memory budget counts).
    public var byteCount: Int { words.count * 8 + entryConcept.count * 16 + entryStart.count * 8 }

    /// One image's masks, being built: set pixels of concepts, then `append` it.
    public struct ImageMasks: Sendable {
        public let pixels: Int
        /// Per concept: its packed words, once a pixel is set.
        var planes: [[UInt64]?]
        /// Per concept: whether it labels the whole image.
        var wholeImage: [Bool]

        public init(concepts: Int, pixels: Int) {
            self.pixels = pixels
            planes = Array(repeating: nil, count: concepts)
            wholeImage = Array(repeating: false, count: concepts)
        }

        /// Marks pixel p (y · width + x) as showing `concept`.
        public mutating func set(concept c: Int, pixel p: Int) {
            if planes[c] == nil { planes[c] = [UInt64](repeating: 0, count: (pixels + 63) / 64) }
            planes[c]![p >> 6] |= 1 << UInt64(p & 63)
        }

        /// Marks the whole image as showing `concept` (a scene, a texture of the picture).
        public mutating func setWhole(concept c: Int) { wholeImage[c] = true }
    }

    /// Adds one image's masks as the next image.
    public mutating func append(_ image: ImageMasks) {
        precondition(image.pixels == pixelsPerMask, "ConceptMasks.append: masks of \(image.pixels) pixels on a \(pixelsPerMask)-pixel grid")
        let tail = pixelsPerMask & 63
        let lastWord: UInt64 = tail == 0 ? ~0 : (1 << UInt64(tail)) - 1
        precondition(image.planes.count == conceptCount, "ConceptMasks.append: \(image.planes.count) concepts, not \(conceptCount)")
        for c in 0..<conceptCount {
            if image.wholeImage[c] {
                appendWhole(c)
                continue
            }
            guard let plane = image.planes[c] else { continue }
            let area = plane.reduce(0) { $0 + $1.nonzeroBitCount }
            if area == pixelsPerMask && plane.last! & lastWord == lastWord {
                appendWhole(c)
            } else if area > 0 {
                entryConcept.append(Int32(c))
                entryArea.append(Int32(area))
                entryWords.append(words.count)
                words += plane
            }
        }
        entryStart.append(entryConcept.count)
    }

    private mutating func appendWhole(_ c: Int) {
        entryConcept.append(Int32(c))
        entryArea.append(Int32(pixelsPerMask))
        entryWords.append(Self.whole)
    }

    /// Adds one image from dense masks, [concept][y][x] of 0/1 bytes.
    public mutating func appendDense(_ dense: UnsafeBufferPointer<UInt8>) {
        precondition(dense.count == conceptCount * pixelsPerMask, "ConceptMasks.appendDense: \(dense.count) bytes")
        var image = ImageMasks(concepts: conceptCount, pixels: pixelsPerMask)
        for c in 0..<conceptCount {
            let base = c * pixelsPerMask
            var plane = [UInt64](repeating: 0, count: wordsPerMask), any = false
            for p in 0..<pixelsPerMask where dense[base + p] != 0 {
                plane[p >> 6] |= 1 << UInt64(p & 63)
                any = true
            }
            if any { image.planes[c] = plane }
        }
        append(image)
    }

    private mutating func copyImage(_ i: Int, of other: ConceptMasks) {
        for e in other.entryStart[i]..<other.entryStart[i + 1] {
            entryConcept.append(other.entryConcept[e])
            entryArea.append(other.entryArea[e])
            if other.entryWords[e] == Self.whole {
                entryWords.append(Self.whole)
            } else {
                entryWords.append(words.count)
                words += other.words[other.entryWords[e]..<other.entryWords[e] + wordsPerMask]
            }
        }
        entryStart.append(entryConcept.count)
    }

    /// One stored mask of an image: its concept, pixel count, and words (nil: every pixel).
    public struct Entry {
        public var concept: Int
        public var area: Int
        public var words: ArraySlice<UInt64>?
    }

    /// The concepts present in image `i`, ascending, with their masks.
    public func entries(image i: Int) -> [Entry] {
        (entryStart[i]..<entryStart[i + 1]).map { e in
            Entry(concept: Int(entryConcept[e]), area: Int(entryArea[e]),
                  words: entryWords[e] == Self.whole ? nil : words[entryWords[e]..<entryWords[e] + wordsPerMask])
        }
    }

    /// The H x W mask of one concept in one image as 0/1 bytes, row-major.
    public func mask(image i: Int, concept c: Int) -> [UInt8] {
        guard let e = entries(image: i).first(where: { $0.concept == c }) else { return [UInt8](repeating: 0, count: pixelsPerMask) }
        guard let w = e.words else { return [UInt8](repeating: 1, count: pixelsPerMask) }
        let base = w.startIndex
        return (0..<pixelsPerMask).map { p in UInt8((w[base + (p >> 6)] >> UInt64(p & 63)) & 1) }
    }

    /// The masks of the images at `indices`, in that order (indices may repeat).
    public func subset(_ indices: [Int]) -> ConceptMasks {
        var out = ConceptMasks(names: names, kinds: kinds, height: height, width: width)
        for i in indices { out.copyImage(i, of: self) }
        return out
    }
}
