import Foundation
import Protocol
import Store
import TensorEngine

/// A result the server keeps for later requests: an adversarial batch with the labels it was
/// made for, where it came from, and per image what the attack made of it.
public struct StoredResult: Sendable {
    public var id: String
    public var kind: String
    public var images: Tensor
    public var labels: [Int]
    /// JSON text: the models (with fingerprints) and the full configuration that made it.
    public var provenance: String
    public var details: HandleDetails
    /// Attack results: the attack's clean inputs (`details.sources` index them).
    public var clean: Tensor?
    public var created: Date

    /// Per image: which clean input it was made from, its target and its adversarial
    /// prediction (probe's class histograms and r(x*) need them); nil unless an attack made it.
    public var origins: [Origin]? {
        guard let sources = details.sources, let predicted = details.adversarialLabels, sources.count == predicted.count else { return nil }
        return sources.indices.map { Origin(source: sources[$0], target: details.targets?[$0], adversarialLabel: predicted[$0]) }
    }

    /// When the attack's inputs were one dataset reference: that dataset and its indices.
    public var cleanDataset: HandleDetails.CleanDataset? { details.cleanDataset }

    public struct Origin: Sendable, Equatable {
        public var source: Int
        public var target: Int?
        public var adversarialLabel: Int
    }
}

/// What a handle records per image besides its label (all optional: a handle made by something
/// other than an attack may have none of it).
public struct HandleDetails: Codable, Sendable, Equatable {
    /// Index of each image's source among the request's inputs.
    public var sources: [Int]?
    /// The target class per image (nil: untargeted).
    public var targets: [Int?]?
    /// The class the attacked model(s) predict for each adversarial image.
    public var adversarialLabels: [Int]?
    public var success: [Bool]?
    /// When the attack's inputs were one dataset reference: the dataset and, per clean input,
    /// its index there (probe's dissect finds a source's concept masks by it).
    public var cleanDataset: CleanDataset?

    public struct CleanDataset: Codable, Sendable, Equatable {
        public var name: String
        public var indices: [Int]
        public init(name: String, indices: [Int]) {
            self.name = name
            self.indices = indices
        }
    }

    public init(sources: [Int]? = nil, targets: [Int?]? = nil, adversarialLabels: [Int]? = nil, success: [Bool]? = nil,
                cleanDataset: CleanDataset? = nil) {
        self.sources = sources
        self.targets = targets
        self.adversarialLabels = adversarialLabels
        self.success = success
        self.cleanDataset = cleanDataset
    }

    var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    static func decode(_ text: String) -> HandleDetails {
        (try? JSONDecoder().decode(HandleDetails.self, from: Data(text.utf8))) ?? HandleDetails()
    }
}

/// The results a connection's cache database keeps, by handle ("adv-1", "adv-2", ...): they
/// survive a restart and are shared by every daemon on the file. Bounded by the store's cap:
/// a result that would not fit even with the activation cache emptied is refused (resource
/// limit) rather than silently evicting another client's result; handle/drop frees space.
public struct HandleStore: Sendable {
    public let store: Store

    public init(store: Store) { self.store = store }

    public var limitBytes: Int { store.capBytes }

    /// The kept images' bytes together, clean inputs included (4 per value).
    public func totalBytes() throws -> Int { try all().reduce(0) { $0 + $1.bytes } }

    /// Keeps a result under a new handle and returns the handle.
    /// `pending`: until `confirm`, the result belongs to this process alone (see Store.addHandle).
    public func add(kind: String, images: Tensor, labels: [Int], provenance: String, details: HandleDetails = HandleDetails(),
                    clean: Tensor? = nil, pending: Bool = false) throws -> String {
        try HandleStore.mapped {
            try store.addHandle(kind: kind, images: StoredArray(shape: images.shape, values: images.data),
                                clean: clean.map { StoredArray(shape: $0.shape, values: $0.data) }, labels: labels,
                                provenance: provenance, details: details.json, pending: pending)
        }
    }

    /// A result kept a chunk at a time (`HandleWriter`): images of `imagesShape`, clean inputs of
    /// `cleanShape`; call its methods inside `mapped` for the server's errors.
    public func writer(imagesShape: [Int], cleanShape: [Int]?) throws -> HandleWriter {
        try HandleStore.mapped { try store.handleWriter(imagesShape: imagesShape, cleanShape: cleanShape) }
    }

    /// Runs `body` with the store's refusals as the server's errors: over the cap -32011, a
    /// shard that cannot be written -32012.
    public static func mapped<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch StoreError.overCap(let message) {
            throw ServerError.resourceLimit(message)
        } catch StoreError.cannotWrite(let message) {
            throw ServerError.io(message)
        }
    }

    public func get(_ id: String) throws -> StoredResult {
        let kept: StoredHandle?
        do { kept = try store.handle(id) } catch StoreError.corrupt(let message) {
            throw ServerError.io(message)
        }
        guard let h = kept else {
            throw ServerError.notFound("no result handle named \"\(id)\" (handle/list shows the kept ones)")
        }
        return StoredResult(id: h.id, kind: h.kind, images: Tensor(shape: h.images.shape, data: h.images.values), labels: h.labels,
                            provenance: h.provenance, details: HandleDetails.decode(h.details),
                            clean: h.clean.map { Tensor(shape: $0.shape, data: $0.values) }, created: h.created)
    }

    @discardableResult
    public func drop(_ id: String) throws -> Bool { try store.dropHandle(id) }

    /// A client was told of the result (its reply went out).
    public func confirm(_ id: String) throws { try store.confirmHandle(id) }

    /// Every kept result, oldest first, as handle/list shows them.
    public func all() throws -> [HandleSummary] {
        try store.handles().map {
            HandleSummary(handle: $0.id, kind: $0.kind, count: $0.shape.first ?? 0, imageShape: Array($0.shape.dropFirst()),
                          bytes: $0.imageBytes, provenance: $0.provenance)
        }
    }
}
