/// A loaded dataset in one line: what dataset/load, dataset/list and dataset/info answer.
public struct DatasetSummary: Codable, Sendable, Equatable {
    /// The name requests use: `{"dataset": name, "indices": [...]}`.
    public var name: String
    /// How it was loaded: one of `DatasetLoad.Kind`.
    public var kind: DatasetLoad.Kind
    public var count: Int
    /// Per-image shape [C, H, W].
    public var imageShape: [Int]
    public var classes: [String]
    /// Images per class, in class order.
    public var classCounts: [Int]
    /// The file(s) it came from, or how it was generated.
    public var source: String
    /// The concepts it has per-pixel masks for (the shapes set, a broden set); absent when it has none.
    public var concepts: [Concept]?
    /// Whether it defines a class-similarity matrix (a class hierarchy); without one, LC uses
    /// the identity.
    public var classSimilarity: Bool
    /// Present when the images are streamed (their decoded size exceeded what the memory budget
    /// left): read from their files per batch, through a cache of at most this many bytes.
    public var streamed: Streamed?

    /// How a streamed dataset holds its images.
    public struct Streamed: Codable, Sendable, Equatable {
        /// The most bytes its cache of decoded images keeps (counted in the memory budget).
        public var cacheBytes: Int
        /// The decoded size of all its images (4 bytes per value), which is not held.
        public var decodedBytes: Int
        public init(cacheBytes: Int, decodedBytes: Int) { self.cacheBytes = cacheBytes; self.decodedBytes = decodedBytes }
    }

    /// A concept: its name and kind, its category ("part", "colour", "texture" or "object" for
    /// shapes; the index category, e.g. "color" or "scene", for broden).
    public struct Concept: Codable, Sendable, Equatable {
        public var name: String
        public var kind: String
        public init(name: String, kind: String) { self.name = name; self.kind = kind }
    }

    public init(name: String, kind: DatasetLoad.Kind, count: Int, imageShape: [Int], classes: [String], classCounts: [Int], source: String,
                concepts: [Concept]? = nil, classSimilarity: Bool = false, streamed: Streamed? = nil) {
        self.name = name
        self.kind = kind
        self.count = count
        self.imageShape = imageShape
        self.classes = classes
        self.classCounts = classCounts
        self.source = source
        self.concepts = concepts
        self.classSimilarity = classSimilarity
        self.streamed = streamed
    }
}
