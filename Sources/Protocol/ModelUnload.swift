/// `model/unload`: frees a resident model once the requests using it have finished.
public enum ModelUnload: RequestType {
    public static let method = "model/unload"

    public struct Params: Codable, Sendable {
        public var name: String
        public init(name: String) { self.name = name }
    }

    public typealias Result = EmptyResult
}
