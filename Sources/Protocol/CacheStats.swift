/// Rows and payload bytes of one table of the cache database.
public struct CacheTableUsage: Codable, Sendable, Equatable {
    /// "activations", "statistics", "handles" or "runLogs".
    public var name: String
    public var rows: Int
    public var bytes: Int
    public init(name: String, rows: Int, bytes: Int) {
        self.name = name
        self.rows = rows
        self.bytes = bytes
    }
}

/// `cache/stats`: what the connection's cache database holds.
public enum CacheStats: RequestType {
    public static let method = "cache/stats"
    public typealias Params = NoParams

    public struct Result: Codable, Sendable, Equatable {
        /// The database file (initialize's cachePath, the daemon's --cache, or the XDG default).
        public var path: String
        /// Everything the cache takes on disk now: `databaseBytes` + `shardBytes`.
        public var fileBytes: Int
        /// The database file and its write-ahead log.
        public var databaseBytes: Int
        /// The files of the shard directory beside the database (kept results' shards, and
        /// those being written), and how many.
        public var shardBytes: Int
        public var shardFiles: Int
        /// The size cap on payload; cache rows are evicted least recently used first above it.
        public var capBytes: Int
        /// Payload counted against the cap, all tables.
        public var totalBytes: Int
        public var tables: [CacheTableUsage]
        public init(path: String, fileBytes: Int, databaseBytes: Int, shardBytes: Int, shardFiles: Int, capBytes: Int, totalBytes: Int,
                    tables: [CacheTableUsage]) {
            self.path = path
            self.fileBytes = fileBytes
            self.databaseBytes = databaseBytes
            self.shardBytes = shardBytes
            self.shardFiles = shardFiles
            self.capBytes = capBytes
            self.totalBytes = totalBytes
            self.tables = tables
        }
    }
}
