/// `cache/clear`: empties tables of the connection's cache database.
public enum CacheClear: RequestType {
    public static let method = "cache/clear"

    public struct Params: Codable, Sendable {
        /// Tables to empty: "activations", "statistics", "handles", "runLogs", "cache" (the two
        /// cache tables) or "all". Default ["cache"]: kept results and run logs only go when named.
        public var what: [String]?
        public init(what: [String]? = nil) { self.what = what }
    }

    public struct Result: Codable, Sendable, Equatable {
        /// What each emptied table held.
        public var cleared: [CacheTableUsage]
        /// The database afterwards.
        public var stats: CacheStats.Result
        public init(cleared: [CacheTableUsage], stats: CacheStats.Result) {
            self.cleared = cleared
            self.stats = stats
        }
    }
}
