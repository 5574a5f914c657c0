/// A loaded dataset in one line: what dataset/load, dataset/list and dataset/info answer.
public struct DatasetSummary: Codable, Sendable, Equatable {
    /// The name requests use: `{"dataset": name, "indices": [...]}`.
    public var name: String
    /// How it was loaded: "mnist-csv", "mnist-idx" or "npy".
    public var kind: String
    public var count: Int
    /// Per-image shape [C, H, W].
    public var imageShape: [Int]
    public var classes: [String]
    /// Images per class, in class order.
    public var classCounts: [Int]
    /// The file(s) it came from.
    public var source: String

    public init(name: String, kind: String, count: Int, imageShape: [Int], classes: [String], classCounts: [Int], source: String) {
        self.name = name
        self.kind = kind
        self.count = count
        self.imageShape = imageShape
        self.classes = classes
        self.classCounts = classCounts
        self.source = source
    }
}
