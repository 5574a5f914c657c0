/// `Dataset`: labelled images held in memory as one NCHW tensor, with subsets and batches.
import TensorEngine

/// Labelled images: `images` is [N, C, H, W] with pixels scaled to [0, 1]; `labels[i]` is
/// the class index of image i, naming `classes[labels[i]]`.
public struct Dataset: Sendable {
    public var name: String
    public var images: Tensor
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

    public init(name: String, images: Tensor, labels: [Int], classes: [String],
                concepts: ConceptMasks? = nil, classSimilarity: [Float]? = nil) {
        precondition(images.rank >= 1 && images.batch == labels.count,
                     "Dataset: \(labels.count) labels for images of shape \(images.shape)")
        self.name = name
        self.images = images
        self.labels = labels
        self.classes = classes
        self.concepts = concepts
        self.classSimilarity = classSimilarity
    }

    /// Number of images.
    public var count: Int { labels.count }

    /// Shape of one image, [C, H, W].
    public var imageShape: [Int] { Array(images.shape.dropFirst()) }

    /// The images and labels at `indices`, in that order (indices may repeat).
    public func subset(_ indices: [Int], name: String? = nil) -> Dataset {
        var d = Dataset(name: name ?? self.name, images: images.gather(indices), labels: indices.map { labels[$0] }, classes: classes,
                        concepts: concepts?.subset(indices), classSimilarity: classSimilarity)
        d.hasClassLabels = hasClassLabels
        return d
    }

    /// A batch: the images at `indices` as one [B, C, H, W] tensor, and their labels.
    public func batch(_ indices: [Int]) -> (images: Tensor, labels: [Int]) {
        (images.gather(indices), indices.map { labels[$0] })
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
