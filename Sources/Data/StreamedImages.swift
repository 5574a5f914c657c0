/// `StreamedImages`: a dataset's images read from their files when a batch asks for them,
/// through a bounded `ImageCache`, instead of decoded into memory at load.
import Dispatch
import Files
import TensorEngine
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads image `index` of a stored set into `out` (`imageShape`'s product values), decoded and
/// transformed as the in-memory load would: the one thing each streamed kind supplies.
public protocol ImageReader: Sendable {
    var count: Int { get }
    /// One image's [C, H, W].
    var imageShape: [Int] { get }
    func read(_ index: Int, into out: UnsafeMutableBufferPointer<Float>) throws
}

/// Why a class apart from `Dataset`: a dataset whose decoded images exceed the memory budget
/// keeps only its labels and this: the reader (file names and transform, or an open `.npy`),
/// the cache, and which of the reader's images it holds (a split or subset is a list of
/// indices into the same reader and cache, never a copy of pixels). A batch of B images
/// takes B images' floats while it is used, whatever the dataset's size.
///
/// The images of one batch that miss the cache are decoded on up to
/// `StreamedImages.decodeThreads` threads; each thread reads with the limits, workspace
/// root and cancellation of the request that asked.
public final class StreamedImages: Sendable {
    public let reader: any ImageReader
    public let cache: ImageCache
    /// The reader's images this set holds, in order; nil: all of them.
    public let indices: [Int]?

    /// Threads decoding one batch's misses (the machine's processors, at most 8).
    public static let decodeThreads = min(8, max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))))

    public init(reader: any ImageReader, cache: ImageCache, indices: [Int]? = nil) {
        self.reader = reader
        self.cache = cache
        self.indices = indices
    }

    public var count: Int { indices?.count ?? reader.count }
    public var imageShape: [Int] { reader.imageShape }

    /// The images at `indices` of this set, as a set of their own (same reader and cache).
    public func subset(_ picked: [Int]) -> StreamedImages {
        StreamedImages(reader: reader, cache: cache, indices: indices.map { base in picked.map { base[$0] } } ?? picked)
    }

    /// The images at `picked` (indices of this set, which may repeat) as one [B, C, H, W]
    /// tensor. `ReadLimits.current.shouldStop` is asked before each image read.
    public func images(_ picked: [Int]) throws -> Tensor {
        let shape = imageShape
        let per = shape.reduce(1, *)
        let keys = picked.map { indices?[$0] ?? $0 }
        let limits = ReadLimits.current, root = Confinement.root
        var failure: Error?
        let tensor = Tensor(uninitializedShape: [keys.count] + shape) { out in
            var missing: [Int] = []
            for (i, key) in keys.enumerated() {
                let slot = UnsafeMutableBufferPointer(rebasing: out[i * per..<(i + 1) * per])
                if !cache.copy(key, into: slot) { missing.append(i) }
            }
            guard !missing.isEmpty else { return }
            let threads = min(Self.decodeThreads, missing.count)
            let errors = UnsafeMutableBufferPointer<Error?>.allocate(capacity: threads)
            errors.initialize(repeating: nil)
            defer { errors.deinitialize(); errors.deallocate() }
            let base = UnsafeMutableBufferPointer(start: out.baseAddress, count: out.count)
            DispatchQueue.concurrentPerform(iterations: threads) { t in
                ReadLimits.$current.withValue(limits) {
                    Confinement.$root.withValue(root) {
                        var j = t
                        while j < missing.count {
                            let i = missing[j]
                            let slot = UnsafeMutableBufferPointer(rebasing: base[i * per..<(i + 1) * per])
                            do {
                                if limits.shouldStop() { throw FileReadError.cancelled(path: "a streamed dataset") }
                                try reader.read(keys[i], into: slot)
                                cache.insert(keys[i], UnsafeBufferPointer(slot))
                            } catch {
                                errors[t] = error
                                slot.update(repeating: 0)
                                return
                            }
                            j += threads
                        }
                    }
                }
            }
            failure = errors.lazy.compactMap { $0 }.first
            // Images a failed thread never reached would hold uninitialised floats.
            if failure != nil { base.update(repeating: 0) }
        }
        if let failure { throw failure }
        return tensor
    }
}
