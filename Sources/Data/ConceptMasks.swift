/// `ConceptMasks`: per-pixel masks of named concepts (parts, colours, textures) for every image
/// of a dataset, as Network Dissection needs them.

/// For image i and concept c, `mask(image: i, concept: c)` is an H x W array of 0/1 bytes,
/// row-major, at the dataset's image resolution: 1 where the concept shows in that pixel.
/// Storage is one byte a pixel; 1,000 shapes images with 24 concepts at 64 x 64 take ~100 MB.
public struct ConceptMasks: Sendable {
    /// Concept names, e.g. "wheel", "red", "striped"; index = concept id.
    public var names: [String]
    /// The kind of each concept ("part", "colour", "texture", "object"), same order as `names`.
    public var kinds: [String]
    public var height: Int
    public var width: Int
    /// [image][concept][y][x], 0 or 1.
    public var bits: [UInt8]

    public init(names: [String], kinds: [String], height: Int, width: Int, bits: [UInt8]) {
        precondition(names.count == kinds.count, "ConceptMasks: \(names.count) names, \(kinds.count) kinds")
        precondition(height * width * names.count > 0 && bits.count % (height * width * names.count) == 0,
                     "ConceptMasks: \(bits.count) bytes is not a whole number of images")
        self.names = names
        self.kinds = kinds
        self.height = height
        self.width = width
        self.bits = bits
    }

    public var conceptCount: Int { names.count }
    public var pixelsPerMask: Int { height * width }
    /// Number of images the masks cover.
    public var imageCount: Int { bits.count / (pixelsPerMask * conceptCount) }

    /// The H x W mask of one concept in one image.
    public func mask(image: Int, concept: Int) -> ArraySlice<UInt8> {
        let start = (image * conceptCount + concept) * pixelsPerMask
        return bits[start..<start + pixelsPerMask]
    }

    /// The masks of the images at `indices`, in that order.
    public func subset(_ indices: [Int]) -> ConceptMasks {
        let perImage = conceptCount * pixelsPerMask
        var out = [UInt8]()
        out.reserveCapacity(indices.count * perImage)
        for i in indices { out.append(contentsOf: bits[i * perImage..<(i + 1) * perImage]) }
        return ConceptMasks(names: names, kinds: kinds, height: height, width: width, bits: out)
    }
}
