/// `Dataset`: labelled images held in memory as one NCHW tensor, or streamed from their files,
/// with subsets and batches.
import TensorEngine

/// Labelled images: [N, C, H, W] with pixels scaled to [0, 1]; `labels[i]` is the class index
/// of image i, naming `classes[labels[i]]`.
///
/// The images are either in memory (`images`, one tensor: the fast path every dataset that
/// fits the memory budget takes) or streamed (`streamed`: decoded per batch through a bounded
/// cache, for sets larger than the budget). `read` serves both; `images` and `batch` are for
/// code that only meets in-memory sets (training tools, generated sets) and stop the process
/// on a streamed one.
public struct Dataset: Sendable {
    public var name: String
    private var storage: Storage
    public var labels: [Int]
    public var classes: [String]
    /// Per-pixel concept masks, for datasets that carry them (the shapes set); nil otherwise.
    public var concepts: ConceptMasks?
    /// Class-similarity matrix A (classes x classes, row-major) for the consistency level LC,
    /// when the dataset has a class hierarchy; nil means the identity.
    public var classSimilarity: [Float]?
    /// False for a set whose images have no class (a concept set, whose `labels` are all 0):
    /// requests then take the model's predictions for labels, as for a PNG input.
    public var hasClassLabels = true

    /// Where the images are.
    private enum Storage: Sendable {
        case memory(Tensor)
        case streamed(StreamedImages)
    }

    public init(name: String, images: Tensor, labels: [Int], classes: [String],
                concepts: ConceptMasks? = nil, classSimilarity: [Float]? = nil) {
        precondition(images.rank >= 1 && images.batch == labels.count,
                     "Dataset: \(labels.count) labels for images of shape \(images.shape)")
        self.name = name
        self.storage = .memory(images)
        self.labels = labels
        self.classes = classes
        self.concepts = concepts
        self.classSimilarity = classSimilarity
    }

    /// A streamed dataset: `images` read on demand (concept masks are never streamed).
    public init(name: String, streamed images: StreamedImages, labels: [Int], classes: [String], classSimilarity: [Float]? = nil) {
        precondition(images.count == labels.count, "Dataset: \(labels.count) labels for \(images.count) streamed images")
        self.name = name
        self.storage = .streamed(images)
        self.labels = labels
        self.classes = classes
        self.concepts = nil
        self.classSimilarity = classSimilarity
    }

    /// All images as one [N, C, H, W] tensor, for in-memory datasets only (see the type).
    public var images: Tensor {
        get {
            guard case .memory(let x) = storage else { preconditionFailure("Dataset \"\(name)\" is streamed: read it with read(_:)") }
            return x
        }
        set { storage = .memory(newValue) }
    }

    /// The streamed images, nil for an in-memory dataset.
    public var streamed: StreamedImages? {
        if case .streamed(let s) = storage { return s }
        return nil
    }

    /// Number of images.
    public var count: Int { labels.count }

    /// Shape of one image, [C, H, W].
    public var imageShape: [Int] {
        switch storage {
        case .memory(let x): return Array(x.shape.dropFirst())
        case .streamed(let s): return s.imageShape
        }
    }

    /// The images and labels at `indices`, in that order (indices may repeat); a streamed
    /// dataset's subset is streamed too (the same files and cache).
    public func subset(_ indices: [Int], name: String? = nil) -> Dataset {
        switch storage {
        case .memory(let x):
            var d = Dataset(name: name ?? self.name, images: x.gather(indices), labels: indices.map { labels[$0] }, classes: classes,
                            concepts: concepts?.subset(indices), classSimilarity: classSimilarity)
            d.hasClassLabels = hasClassLabels
            return d
        case .streamed(let s):
            return Dataset(name: name ?? self.name, streamed: s.subset(indices), labels: indices.map { labels[$0] }, classes: classes,
                           classSimilarity: classSimilarity)
        }
    }

    /// A batch of an in-memory dataset: the images at `indices` as one [B, C, H, W] tensor,
    /// and their labels.
    public func batch(_ indices: [Int]) -> (images: Tensor, labels: [Int]) {
        (images.gather(indices), indices.map { labels[$0] })
    }

    /// A batch of any dataset: a streamed one decodes (or finds in its cache) just these
    /// images; errors name the file that could not be read.
    public func read(_ indices: [Int]) throws -> (images: Tensor, labels: [Int]) {
        switch storage {
        case .memory(let x): return (x.gather(indices), indices.map { labels[$0] })
        case .streamed(let s): return (try s.images(indices), indices.map { labels[$0] })
        }
    }

    /// The images `range` of any dataset (a slice of the tensor in memory).
    public func read(range: Range<Int>) throws -> Tensor {
        switch storage {
        case .memory(let x): return range == 0..<x.batch ? x : x.slice(range)
        case .streamed(let s): return try s.images(Array(range))
        }
    }

    /// How many images each class has, indexed by class.
    public var classCounts: [Int] {
        var counts = [Int](repeating: 0, count: classes.count)
        for l in labels where l >= 0 && l < counts.count { counts[l] += 1 }
        return counts
    }

    /// Class names "0" ... "9", as used for MNIST.
    public static let digitClasses: [String] = (0..<10).map(String.init)
}
