/// `NPYRangeReader`: the images of a large `.npy` file, each read from its byte range of the
/// open file when asked (the `npy` kind's streamed form).
import Files
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why ranges read with pread rather than a memory map of the file: a mapped file's pages
/// count as the daemon's resident memory as they are touched (RSS climbs to the file's size
/// over one pass, and the daemon cannot bound it), while a read of one image's range takes
/// that image's bytes and no more. The file is opened, checked (header, size, workspace root)
/// once at load and held open, so a later request reads the same file whatever happens to
/// its path.
///
/// Values convert as `NPY.load` converts them ('|u1' pixels are scaled by 1/255 here, as the
/// in-memory `npy` kind scales them); `layout` NHWC images are transposed to [C, H, W].
public final class NPYRangeReader: ImageReader {
    public let path: String
    public let count: Int
    public let imageShape: [Int]
    public let layout: NPZ.Layout
    /// The array's dtype, e.g. "<f4".
    public let dtype: String
    private let fd: Int32
    private let header: NPYHeader
    /// Where the values start in the file.
    private let dataOffset: Int
    private let per: Int

    /// Opens `path`, an [N, C, H, W] (or, with layout NHWC, [N, H, W, C]) array of any
    /// numeric dtype `NPY` reads; [N, H, W] is one channel. `region`: where in the file the
    /// `.npy` lies (an array stored uncompressed in an `.npz`), nil: the whole file.
    public init(path: String, layout: NPZ.Layout = .nchw, limits: ReadLimits = .current, region: Range<Int>? = nil) throws {
        var open = limits
        open.maxBytes = Int.max
        let (fd, fileSize): (Int32, Int)
        do { (fd, fileSize) = try ClientFile.openRegular(path, limits: open) } catch FileReadError.io(_, let reason) {
            throw DataError.io(path: path, reason: reason)
        }
        let start = region?.lowerBound ?? 0
        guard region.map({ $0.upperBound <= fileSize }) ?? true else {
            close(fd)
            throw DataError.format(path: path, reason: "its array runs past the end of the file")
        }
        let size = region?.count ?? fileSize
        var prefix = [UInt8](repeating: 0, count: min(size, 1 << 16))
        let got = prefix.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(start)) }
        guard got == prefix.count else {
            close(fd)
            throw DataError.io(path: path, reason: "cannot read its header")
        }
        let h: NPYHeader
        do { h = try NPYHeader.parse(prefix, path: path) } catch {
            close(fd)
            throw error
        }
        let shape: [Int]
        switch h.shape.count {
        case 3: shape = [1, h.shape[1], h.shape[2]]
        case 4 where layout == .nhwc: shape = [h.shape[3], h.shape[1], h.shape[2]]
        case 4: shape = Array(h.shape.dropFirst())
        default:
            close(fd)
            throw DataError.format(path: path, reason: "expected images of shape [N, C, H, W], [N, H, W, C] or [N, H, W], found \(h.shape)")
        }
        let needed = h.count * h.size
        guard size - h.dataOffset == needed else {
            close(fd)
            throw DataError.format(path: path, reason: size - h.dataOffset < needed
                ? "truncated data: shape \(h.shape) of '\(h.descr)' needs \(needed) bytes, \(size - h.dataOffset) present"
                : "\(size - h.dataOffset - needed) unexpected bytes after the array data")
        }
        guard h.shape[0] > 0, h.count > 0 else {
            close(fd)
            throw DataError.format(path: path, reason: "holds no images (shape \(h.shape))")
        }
        self.path = path
        self.fd = fd
        self.header = h
        self.dataOffset = start + h.dataOffset
        self.count = h.shape[0]
        self.imageShape = shape
        self.layout = h.shape.count == 4 ? layout : .nchw
        self.dtype = h.descr
        self.per = shape.reduce(1, *)
    }

    deinit { close(fd) }

    public func read(_ index: Int, into out: UnsafeMutableBufferPointer<Float>) throws {
        let bytes = per * header.size
        var raw = [UInt8](repeating: 0, count: bytes)
        var done = 0
        while done < bytes {
            let n = raw.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, bytes - done, off_t(dataOffset + index * bytes + done)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                throw DataError.io(path: path, reason: n < 0 ? "cannot read image \(index): \(String(cString: strerror(errno)))" : "image \(index) ends early (the file shrank)")
            }
            done += n
        }
        let scale: Float = dtype == "|u1" ? 1 / 255 : 1
        let (c, h, w) = (imageShape[0], imageShape[1], imageShape[2])
        raw.withUnsafeBytes { src in
            NPY.convert(src, kind: header.kind, size: header.size, bigEndian: header.bigEndian, count: per) { i, v in
                // NHWC element i = (y * w + x) * c + ch lands at (ch * h + y) * w + x.
                let at = layout == .nhwc ? (i % c) * h * w + i / c : i
                out[at] = Float(v) * scale
            }
        }
    }
}
