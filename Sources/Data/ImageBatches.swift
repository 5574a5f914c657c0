/// `ImageBatches`: a set of images that analyses read a range at a time: a tensor in memory,
/// or images of a dataset (streamed or not) read when a range is asked for.
import TensorEngine

/// Why not a tensor: a probe or a prediction over a streamed dataset must pull its images
/// batch by batch, never as one [N, C, H, W] tensor; code that walks ranges of an
/// `ImageBatches` runs in a batch's memory on streamed sets and as before on tensors.
public struct ImageBatches: Sendable {
    public let count: Int
    /// One image's [C, H, W].
    public let imageShape: [Int]
    private let source: Source
    /// Run on every tensor a dataset source reads, with which images they are ("images
    /// 256...511"): the server's input range check, so a streamed set is checked as its
    /// batches are read (it is never read whole).
    private var check: (@Sendable (Tensor, String) throws -> Void)?

    private enum Source: Sendable {
        case tensor(Tensor)
        /// A dataset's images at `indices` (nil: all of them, in order).
        case dataset(Dataset, [Int]?)
    }

    public init(_ images: Tensor) {
        count = images.batch
        imageShape = Array(images.shape.dropFirst())
        source = .tensor(images)
    }

    /// The images of `dataset` at `indices` (nil: all of them).
    public init(_ dataset: Dataset, indices: [Int]? = nil) {
        count = indices?.count ?? dataset.count
        imageShape = dataset.imageShape
        source = .dataset(dataset, indices)
    }

    /// The same images, each tensor read from a dataset passed to `check` first.
    public func checked(_ check: @escaping @Sendable (Tensor, String) throws -> Void) -> ImageBatches {
        var out = self
        out.check = check
        return out
    }

    /// Whether the images come from a streamed dataset (reading them all at once would defeat it).
    public var isStreamed: Bool {
        if case .dataset(let d, _) = source { return d.streamed != nil }
        return false
    }

    /// For a streamed set, how many images a pass should read at a time: as many as its cache
    /// holds (at least 1, at most 256), so that a batch takes no more memory than the budget
    /// set aside for the set's images. Nil for images in memory.
    public var streamedBatch: Int? {
        guard case .dataset(let d, _) = source, let s = d.streamed else { return nil }
        return max(1, min(256, s.cache.capacityBytes / max(1, imageShape.reduce(4, *))))
    }

    /// The images `range` as one tensor.
    public func slice(_ range: Range<Int>) throws -> Tensor {
        let x: Tensor
        switch source {
        case .tensor(let t): return range == 0..<t.batch ? t : t.slice(range)
        case .dataset(let d, nil): x = try d.read(range: range)
        case .dataset(let d, let idx?): x = try d.read(Array(idx[range])).images
        }
        try check?(x, range.count == 1 ? "image \(range.lowerBound)" : "images \(range.lowerBound)...\(range.upperBound - 1)")
        return x
    }

    /// The images at `positions` (of this set) as one tensor.
    public func gather(_ positions: [Int]) throws -> Tensor {
        switch source {
        case .tensor(let t): return t.gather(positions)
        case .dataset(let d, let idx):
            let x = try d.read(idx.map { i in positions.map { i[$0] } } ?? positions).images
            try check?(x, positions.count == 1 ? "image \(positions[0])" : "\(positions.count) images")
            return x
        }
    }

    /// All the images as one tensor (for analyses that need them at once; on a streamed set
    /// this takes the set's decoded size).
    public func all() throws -> Tensor { try slice(0..<count) }
}
