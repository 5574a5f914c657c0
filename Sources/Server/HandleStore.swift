import Foundation
import Protocol
import TensorEngine

/// A result the server keeps for later requests: an adversarial batch with the labels it was
/// made for and where it came from.
public struct StoredResult: Sendable {
    public var id: String
    public var kind: String
    public var images: Tensor
    public var labels: [Int]
    /// JSON text: the models (with fingerprints) and the full configuration that made it.
    public var provenance: String
    /// Attack results: per image, which clean input it was made from, its target and its
    /// adversarial prediction (probe's class histograms and r(x*) need them).
    public var origins: [Origin]?
    /// Attack results: the attack's clean inputs (`Origin.source` indexes them).
    public var clean: Tensor?
    /// When the attack's inputs were one dataset reference: the dataset and, per clean input,
    /// its index there (probe's dissect finds a source's concept masks by it).
    public var cleanDataset: CleanDataset?
    public var created = Date()

    public struct Origin: Sendable, Equatable {
        public var source: Int
        public var target: Int?
        public var adversarialLabel: Int
    }

    public struct CleanDataset: Sendable, Equatable {
        public var name: String
        public var indices: [Int]
    }

    /// Bytes of tensors kept (adversarial and clean images).
    var bytes: Int { (images.count + (clean?.count ?? 0)) * 4 }

    var summary: HandleSummary {
        HandleSummary(handle: id, kind: kind, count: images.batch, imageShape: Array(images.shape.dropFirst()),
                      bytes: bytes, provenance: provenance)
    }
}

/// The results the server keeps, by handle ("adv-1", "adv-2", ...). Bounded by a byte cap:
/// a result that would exceed it is refused (resource limit) rather than silently evicting
/// another client's result; handle/drop frees space.
public final class HandleStore: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [String: StoredResult] = [:]
    private var next = 1
    public let limitBytes: Int

    public init(limitBytes: Int = 4 << 30) { self.limitBytes = limitBytes }

    public var totalBytes: Int { lock.withLock { results.values.reduce(0) { $0 + $1.bytes } } }

    /// Keeps a result under a new handle and returns the handle.
    public func add(kind: String, images: Tensor, labels: [Int], provenance: String, origins: [StoredResult.Origin]? = nil,
                    clean: Tensor? = nil, cleanDataset: StoredResult.CleanDataset? = nil) throws -> String {
        try lock.withLock {
            let used = results.values.reduce(0) { $0 + $1.bytes }
            let adding = (images.count + (clean?.count ?? 0)) * 4
            guard used + adding <= limitBytes else {
                throw ServerError.resourceLimit("keeping this result would exceed the \(limitBytes)-byte limit for kept results (\(used) in use); drop some with handle/drop")
            }
            let id = "adv-\(next)"
            next += 1
            results[id] = StoredResult(id: id, kind: kind, images: images, labels: labels, provenance: provenance, origins: origins,
                                       clean: clean, cleanDataset: cleanDataset)
            return id
        }
    }

    public func get(_ id: String) throws -> StoredResult {
        guard let r = lock.withLock({ results[id] }) else {
            throw ServerError.notFound("no result handle named \"\(id)\" (handle/list shows the kept ones)")
        }
        return r
    }

    @discardableResult
    public func drop(_ id: String) -> Bool { lock.withLock { results.removeValue(forKey: id) != nil } }

    public var all: [StoredResult] {
        lock.withLock { results.values.sorted { $0.created < $1.created || ($0.created == $1.created && $0.id < $1.id) } }
    }
}
