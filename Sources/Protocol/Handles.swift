/// A result the server keeps (an adversarial batch), as handle/list shows it.
public struct HandleSummary: Codable, Sendable, Equatable {
    public var handle: String
    /// What made it, e.g. "attack pgd".
    public var kind: String
    public var count: Int
    public var imageShape: [Int]
    public var bytes: Int
    /// The models it was made against and the method's configuration, as JSON text.
    public var provenance: String
    public init(handle: String, kind: String, count: Int, imageShape: [Int], bytes: Int, provenance: String) {
        self.handle = handle
        self.kind = kind
        self.count = count
        self.imageShape = imageShape
        self.bytes = bytes
        self.provenance = provenance
    }
}

/// `handle/list`: the results the server keeps.
public enum HandleList: RequestType {
    public static let method = "handle/list"
    public typealias Params = NoParams

    public struct Result: Codable, Sendable {
        public var handles: [HandleSummary]
        public var totalBytes: Int
        public var limitBytes: Int
        public init(handles: [HandleSummary], totalBytes: Int, limitBytes: Int) {
            self.handles = handles
            self.totalBytes = totalBytes
            self.limitBytes = limitBytes
        }
    }
}

/// `handle/drop`: frees a kept result.
public enum HandleDrop: RequestType {
    public static let method = "handle/drop"

    public struct Params: Codable, Sendable {
        public var handle: String
        public init(handle: String) { self.handle = handle }
    }

    public typealias Result = EmptyResult
}
