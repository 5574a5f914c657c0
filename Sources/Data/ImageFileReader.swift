/// `ImageFileReader`: a streamed image folder's (or ImageNet-validation folder's) images, read
/// one file at a time and transformed as `ImageFolder.decode` does.
import Files

/// Why it keeps the workspace root and file limit of the load: the files were listed (and the
/// paths confined) by the request that loaded the dataset; a later request that reads them,
/// from any client, reads them under the same root and limit.
public struct ImageFileReader: ImageReader {
    public let files: [String]
    public let transform: ImageTransform
    /// The workspace root the load ran under (nil: unconfined).
    public let root: String?
    /// The most bytes one image file may hold.
    public let maxFileBytes: Int

    public init(files: [String], transform: ImageTransform, root: String? = Confinement.root, maxFileBytes: Int) {
        self.files = files
        self.transform = transform
        self.root = root
        self.maxFileBytes = maxFileBytes
    }

    public var count: Int { files.count }
    public var imageShape: [Int] { transform.shape }

    public func read(_ index: Int, into out: UnsafeMutableBufferPointer<Float>) throws {
        let file = files[index]
        var limits = ReadLimits.current
        limits.maxBytes = maxFileBytes
        try Confinement.$root.withValue(root) {
            let bytes: [UInt8]
            do { bytes = try ClientFile.read(file, limits: limits) } catch FileReadError.io(_, let reason) {
                throw DataError.io(path: file, reason: reason)
            }
            try transform.apply(bytes, path: file, into: out)
        }
    }
}
