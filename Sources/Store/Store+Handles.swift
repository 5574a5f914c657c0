import Foundation
import GRDB

/// A kept result (an adversarial batch): images, one label per image, what made it, and any
/// further per-image detail as JSON text (the server keeps targets and adversarial labels there).
public struct StoredHandle: Sendable, Equatable {
    /// "adv-N": N is never reused in one file.
    public var id: String
    public var kind: String
    public var images: StoredArray
    /// The clean inputs the images were made from, when kept.
    public var clean: StoredArray?
    public var labels: [Int]
    /// JSON text: the models and configuration that made it.
    public var provenance: String
    /// JSON text (an object), "{}" when there is nothing more.
    public var details: String
    public var created: Date
}

/// A handle without its images, for listings.
public struct HandleInfo: Sendable, Equatable {
    public var id: String
    public var kind: String
    public var shape: [Int]
    public var labels: [Int]
    public var provenance: String
    public var details: String
    public var created: Date
    /// What the handle counts against the cap.
    public var bytes: Int
    /// Shape of the clean inputs kept beside the images, if any.
    public var cleanShape: [Int]?
    /// Bytes of the images and the clean inputs kept with them (4 per value).
    public var imageBytes: Int { (shape.reduce(1, *) + (cleanShape?.reduce(1, *) ?? 0)) * 4 }
}

extension Store {
    static let handlePrefix = "adv-"

    /// Keeps a result and returns its new handle. Handles are never evicted: if it does not
    /// fit under the cap even after evicting every cache row, it is refused with `overCap`.
    /// Arrays of more than `shardThresholdBytes` together go to shard files beside the database
    /// (`HandleShards`), written before the row that names them; the cap counts them alike.
    ///
    /// With `pending`, the result is this process's until `confirmHandle` says a client was
    /// told of it; if the process dies first, the next open of the file evicts it.
    public func addHandle(kind: String, images: StoredArray, clean: StoredArray? = nil, labels: [Int], provenance: String,
                          details: String = "{}", pending: Bool = false) throws -> String {
        let writer = try handleWriter(imagesShape: images.shape, cleanShape: clean?.shape)
        try images.values.withUnsafeBufferPointer { try writer.append(images: $0) }
        if let clean { try clean.values.withUnsafeBufferPointer { try writer.append(clean: $0) } }
        return try writer.commit(kind: kind, labels: labels, provenance: provenance, details: details, pending: pending)
    }

    /// A writer for a result of these shapes, appended a chunk at a time (`HandleWriter`); a
    /// sharded one is refused now when it would not fit under the cap.
    public func handleWriter(imagesShape: [Int], cleanShape: [Int]?) throws -> HandleWriter {
        try HandleWriter(store: self, imagesShape: imagesShape, cleanShape: cleanShape)
    }

    /// Refuses (`overCap`) a result of `bytes` that the kept results and run logs leave no room for.
    func checkHandleCap(_ db: Database, bytes: Int) throws {
        let usage = try Store.usage(db)
        let kept = (usage[.handles]?.bytes ?? 0) + (usage[.runLogs]?.bytes ?? 0)
        guard kept + bytes <= capBytes else {
            throw StoreError.overCap("keeping this result (\(bytes) bytes) would exceed the cache cap of \(capBytes) bytes: "
                + "\(usage[.handles]?.bytes ?? 0) bytes are held by \(usage[.handles]?.rows ?? 0) kept results; drop some with handle/drop")
        }
    }

    /// The row of a kept result: its arrays' shapes and, unless they are in the shard files
    /// `written`, their values (blobs).
    func insertHandle(kind: String, images: (shape: [Int], values: [Float]), clean: (shape: [Int], values: [Float])?,
                      shards written: [HandleShards.Shard]?, labels: [Int], provenance: String, details: String, pending: Bool) throws -> String {
        let labelsText = IntListText.encode(labels)
        let imagesShape = IntListText.encode(images.shape), cleanShape = clean.map { IntListText.encode($0.shape) }
        let bytes = images.shape.reduce(4, *) + imagesShape.utf8.count + (clean.map { $0.shape.reduce(4, *) } ?? 0) + (cleanShape?.utf8.count ?? 0)
            + kind.utf8.count + labelsText.utf8.count + provenance.utf8.count + details.utf8.count
        func blob(_ v: [Float]) -> Data { v.withUnsafeBytes { Data($0) } }
        let sharded = written != nil
        let id = try write(bytes: sharded ? 0 : bytes) { db in
            try checkHandleCap(db, bytes: bytes)
            try evictIfNeeded(db, reserving: bytes)
            try db.execute(sql: """
                INSERT INTO handles (kind, shape, images, clean_shape, clean, labels, provenance, details, created, bytes, shards)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [kind, imagesShape, sharded ? Data() : blob(images.values), cleanShape, sharded ? nil : clean.map { blob($0.values) },
                                 labelsText, provenance, details, Date().timeIntervalSince1970, bytes, written.map(HandleShards.encode)])
            let id = db.lastInsertedRowID
            if pending {
                try db.execute(sql: "INSERT INTO pending_handles (handle, pid) VALUES (?, ?)", arguments: [id, Int64(getpid())])
            }
            return id
        }
        return Store.handlePrefix + String(id)
    }

    /// The handle's row id, or nil for a name that is not "adv-N".
    static func handleRowID(_ id: String) -> Int64? {
        guard id.hasPrefix(handlePrefix), let n = Int64(id.dropFirst(handlePrefix.count)), n > 0 else { return nil }
        return n
    }

    /// The result kept under `id`, or nil.
    public func handle(_ id: String) throws -> StoredHandle? {
        guard let rowID = Store.handleRowID(id) else { return nil }
        return try pool.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM handles WHERE id = ?", arguments: [rowID]) else { return nil }
            let cleanShape: String? = row["clean_shape"]
            let images: StoredArray, clean: StoredArray?
            if let list = row["shards"] as String? {
                let kept = try HandleShards.decode(list, handle: id)
                func shape(_ text: String) throws -> [Int] {
                    guard let dims = StoredArray.parseShape(text) else { throw StoreError.corrupt("kept result \(id): shape \"\(text)\"") }
                    return dims
                }
                images = try shards.read("images", shape: shape(row["shape"]), from: kept, handle: id)
                clean = try cleanShape.map { try shards.read("clean", shape: shape($0), from: kept, handle: id) }
            } else {
                images = try StoredArray(shapeText: row["shape"], blob: row["images"])
                clean = try cleanShape.map { try StoredArray(shapeText: $0, blob: row["clean"]) }
            }
            return StoredHandle(id: id, kind: row["kind"], images: images, clean: clean,
                                labels: try IntListText.decode(row["labels"]), provenance: row["provenance"], details: row["details"],
                                created: Date(timeIntervalSince1970: row["created"]))
        }
    }

    /// Every kept result without its images, oldest first.
    public func handles() throws -> [HandleInfo] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT id, kind, shape, clean_shape, labels, provenance, details, created, bytes FROM handles ORDER BY id").map { row in
                let shape: String = row["shape"]
                guard let dims = StoredArray.parseShape(shape) else { throw StoreError.corrupt("handle shape \"\(shape)\"") }
                return HandleInfo(id: Store.handlePrefix + String(row["id"] as Int64), kind: row["kind"], shape: dims,
                                  labels: try IntListText.decode(row["labels"]), provenance: row["provenance"], details: row["details"],
                                  created: Date(timeIntervalSince1970: row["created"]), bytes: row["bytes"],
                                  cleanShape: (row["clean_shape"] as String?).flatMap(StoredArray.parseShape))
            }
        }
    }

    /// Deletes a kept result, and then its shard files; false if there was none.
    @discardableResult
    public func dropHandle(_ id: String) throws -> Bool {
        guard let rowID = Store.handleRowID(id) else { return false }
        var files: [HandleShards.Shard] = []
        let dropped = try write { db in
            files = try Store.shardsOfHandles(db, where: "id = \(rowID)")
            try db.execute(sql: "DELETE FROM handles WHERE id = ?", arguments: [rowID])
            return db.changesCount > 0
        }
        shards.remove(files)
        return dropped
    }

    /// The shards of the handles matching `condition` (SQL over the handles table; callers
    /// pass fixed text or row ids). A list that does not decode names no files.
    static func shardsOfHandles(_ db: Database, where condition: String) throws -> [HandleShards.Shard] {
        try String.fetchAll(db, sql: "SELECT shards FROM handles WHERE shards IS NOT NULL AND (\(condition))").flatMap {
            (try? HandleShards.decode($0, handle: "")) ?? []
        }
    }

    /// Deletes shard files no row names whose writer is gone (see `HandleShards.sweep`).
    func sweepShards() throws {
        let names = try pool.read { db in try Store.shardsOfHandles(db, where: "1") }.map(\.file)
        shards.sweep(referenced: Set(names))
    }
}

extension Store {
    /// A client was told of this result: it is kept like any other from now on.
    public func confirmHandle(_ id: String) throws {
        guard let rowID = Store.handleRowID(id) else { return }
        try write { db in try db.execute(sql: "DELETE FROM pending_handles WHERE handle = ?", arguments: [rowID]) }
    }

    /// Drops the results whose maker died before any client was told of them (killed between
    /// keeping a result and sending its reply); returns how many.
    @discardableResult
    func evictOrphanedHandles() throws -> Int {
        try write { db in
            let pending = try Row.fetchAll(db, sql: "SELECT handle, pid FROM pending_handles")
            var dropped = 0
            for row in pending {
                let pid: Int64 = row["pid"]
                guard pid != Int64(getpid()), kill(pid_t(truncatingIfNeeded: pid), 0) != 0, errno == ESRCH else { continue }
                // Its shard files (named for the dead writer) go in the sweep that follows; its
                // pending row goes with it (trigger handles_pending_delete).
                try db.execute(sql: "DELETE FROM handles WHERE id = ?", arguments: [row["handle"] as Int64])
                dropped += 1
            }
            return dropped
        }
    }
}
