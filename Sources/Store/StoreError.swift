import GRDB

/// What can go wrong in the store: its own refusals, and SQLite's errors (`database`), so its
/// users need not know GRDB.
public enum StoreError: Error, CustomStringConvertible, Equatable {
    /// Keeping this would exceed the size cap even after evicting every cache row; the
    /// message says how much is in use and by what.
    case overCap(String)
    /// A row that does not decode (a blob of the wrong length, a malformed shape), or a kept
    /// result's shard file that is missing or fails its checks.
    case corrupt(String)
    /// The database file cannot be opened or created.
    case cannotOpen(String)
    /// A kept result's shard file cannot be written (disk full, permissions).
    case cannotWrite(String)
    /// A name the store does not know (a table in clear(what:)).
    case unknownTable(String)
    /// SQLite refused (busy past the timeout, disk full, I/O): GRDB's message.
    case database(String)

    /// A GRDB `DatabaseError` (which the store's methods let through) as a `.database` error;
    /// nil for any other error.
    public static func wrapping(_ error: Error) -> StoreError? {
        if let e = error as? StoreError { return e }
        guard let e = error as? DatabaseError else { return nil }
        return .database(e.message ?? e.description)
    }

    public var description: String {
        switch self {
        case let .overCap(s): return s
        case let .corrupt(s): return "cache database row is corrupt: \(s)"
        case let .cannotOpen(s): return s
        case let .cannotWrite(s): return s
        case let .unknownTable(s): return s
        case let .database(s): return s
        }
    }
}
