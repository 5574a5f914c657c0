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

    /// A concept: its name and kind, its category ("part", "colour", "texture" or "object" for
    /// shapes; the index category, e.g. "color" or "scene", for broden).
    public struct Concept: Codable, Sendable, Equatable {
        public var name: String
        public var kind: String
        public init(name: String, kind: String) { self.name = name; self.kind = kind }
    }

    public init(name: String, kind: DatasetLoad.Kind, count: Int, imageShape: [Int], classes: [String], classCounts: [Int], source: String,
                concepts: [Concept]? = nil, classSimilarity: Bool = false) {
        self.name = name
        self.kind = kind
        self.count = count
        self.imageShape = imageShape
        self.classes = classes
        self.classCounts = classCounts
        self.source = source
        self.concepts = concepts
        self.classSimilarity = classSimilarity
    }
}
