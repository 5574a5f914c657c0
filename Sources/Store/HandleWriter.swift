import Foundation
import GRDB

/// A kept result written while it is made: its adversarial images and clean inputs appended
/// a chunk of rows at a time, then the row naming them committed. Arrays over the store's
/// shard threshold go straight to shard files (`ShardWriter`) as they arrive; smaller ones
/// are gathered for the row's blobs.
///
/// Why not `addHandle` alone: an attack over a streamed dataset of 50,000 images must not hold
/// its result in memory to keep it; with a writer it holds one chunk. The cap is checked
/// before the first row (with the arrays' planned size) and again when the row commits.
public final class HandleWriter {
    let store: Store
    /// The arrays' full shapes as planned; fewer rows may be appended (a cancelled attack).
    public let imagesShape: [Int]
    public let cleanShape: [Int]?
    /// Whether the arrays go to shard files.
    public let sharded: Bool
    private let images: Rows
    private let clean: Rows?
    private var done = false

    /// One array's rows: gathered for a blob, or written to shards.
    private final class Rows {
        let shape: [Int]
        var values: [Float] = []
        let shards: ShardWriter?
        var rows = 0

        init(shape: [Int], shards: ShardWriter?) {
            self.shape = shape
            self.shards = shards
            if shards == nil { values.reserveCapacity(shape.reduce(1, *)) }
        }

        func append(_ v: UnsafeBufferPointer<Float>) throws {
            let perRow = shape.dropFirst().reduce(1, *)
            precondition(perRow > 0 && v.count % perRow == 0 && rows + v.count / perRow <= (shape.first ?? 0),
                         "HandleWriter: \(v.count) values are not whole rows left of \(shape)")
            if let shards { try shards.append(v) } else { values.append(contentsOf: v) }
            rows += v.count / perRow
        }

        /// The rows appended: their shape, and their values unless they went to shards.
        var appended: (shape: [Int], values: [Float]) { ([rows] + shape.dropFirst(), values) }
    }

    /// Plans a result of `imagesShape` (and `cleanShape`). A sharded one is checked against
    /// the cap now, before gigabytes are written.
    init(store: Store, imagesShape: [Int], cleanShape: [Int]?) throws {
        self.store = store
        self.imagesShape = imagesShape
        self.cleanShape = cleanShape
        let bytes = (imagesShape.reduce(4, *)) + (cleanShape?.reduce(4, *) ?? 0)
        let sharded = bytes > store.shardThresholdBytes
        self.sharded = sharded
        if sharded { try store.pool.read { db in try store.checkHandleCap(db, bytes: bytes) } }
        let tag = HandleShards.newTag()
        images = Rows(shape: imagesShape, shards: sharded ? ShardWriter(shards: store.shards, name: "images", shape: imagesShape, tag: tag) : nil)
        clean = cleanShape.map { Rows(shape: $0, shards: sharded ? ShardWriter(shards: store.shards, name: "clean", shape: $0, tag: tag) : nil) }
    }

    /// Appends adversarial images (whole rows).
    public func append(images v: UnsafeBufferPointer<Float>) throws { try guarded { try images.append(v) } }

    /// Appends clean inputs (whole rows).
    public func append(clean v: UnsafeBufferPointer<Float>) throws {
        guard let clean else { preconditionFailure("HandleWriter: no clean array was planned") }
        try guarded { try clean.append(v) }
    }

    /// Rows appended so far: adversarial images, clean inputs.
    public var rows: (images: Int, clean: Int) { (images.rows, clean?.rows ?? 0) }

    /// Keeps the rows appended (as many as planned, or fewer) under a new handle; see
    /// `Store.addHandle` for `pending` and the cap. On failure nothing is kept.
    public func commit(kind: String, labels: [Int], provenance: String, details: String = "{}", pending: Bool = false) throws -> String {
        precondition(!done, "HandleWriter: committed twice")
        done = true
        var written: [HandleShards.Shard] = []
        do {
            if let w = images.shards { written += try w.finish() }
            if let w = clean?.shards { written += try w.finish() }
            return try store.insertHandle(kind: kind, images: images.appended, clean: clean?.appended, shards: sharded ? written : nil, labels: labels,
                                          provenance: provenance, details: details, pending: pending)
        } catch {
            abandonShards()
            throw error
        }
    }

    /// Gives the result up: its shard files are removed.
    public func abandon() {
        done = true
        abandonShards()
    }

    private func abandonShards() {
        images.shards?.abandon()
        clean?.shards?.abandon()
    }

    private func guarded(_ body: () throws -> Void) throws {
        precondition(!done, "HandleWriter: appended after commit or abandon")
        do { try body() } catch {
            abandon()
            throw error
        }
    }

    deinit { if !done { abandonShards() } }
}
