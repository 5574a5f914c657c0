import ArgumentParser
import Foundation
import Protocol
import RPC

/// `advlens cache ...`: the daemon's cache database (activation cache, kept results, run logs).
struct CacheCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cache",
        abstract: "Show or empty the daemon's cache database (activations, statistics, kept results, run logs).",
        discussion: """
            The daemon keeps one SQLite file ($XDG_CACHE_HOME/advlens/cache.sqlite unless started \
            with --cache): the activation cache, per-unit statistics, the results `handle list` \
            shows (they survive a restart) and a log of attack runs. Above its size cap the cache \
            rows are evicted least recently used first; kept results never are.
            """,
        subcommands: [Stats.self, Clear.self])

    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Rows and bytes per table, the file's size and cap.")
        @OptionGroup var global: GlobalOptions

        func run() throws {
            try Request.run(global, CacheStats.method) { CacheCommand.table(try Request.decode(CacheStats.Result.self, $0)) }
        }
    }

    struct Clear: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Empty tables: activations, statistics, handles, runLogs, cache (the first two) or all.",
            discussion: "Without TABLE only the cache tables (activations, statistics) are emptied; kept results and run logs go only when named.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Tables to empty (default: cache).") var tables: [String] = []

        func run() throws {
            let params = try Request.params(CacheClear.Params(what: tables.isEmpty ? nil : tables))
            try Request.run(global, CacheClear.method, params) { value in
                let r = try Request.decode(CacheClear.Result.self, value)
                let cleared = r.cleared.map { "\($0.name) (\(Format.grouped($0.rows)) row\($0.rows == 1 ? "" : "s"), \(Format.bytes($0.bytes)))" }
                return "cleared " + cleared.joined(separator: ", ") + "\n\n" + CacheCommand.table(r.stats)
            }
        }
    }

    /// table | rows | bytes, then the file and its cap.
    static func table(_ s: CacheStats.Result) -> String {
        var t = Table(["table", "rows", "bytes"], rightAligned: [1, 2])
        for u in s.tables { t.add([u.name, Format.grouped(u.rows), Format.bytes(u.bytes)]) }
        let used = s.capBytes > 0 ? Double(s.totalBytes) / Double(s.capBytes) : 0
        return t.render() + "\n\n" + Format.keyValues([
            ("file", s.path),
            ("on disk", "\(Format.bytes(s.fileBytes)) (database \(Format.bytes(s.databaseBytes)), \(Format.grouped(s.shardFiles)) shard files \(Format.bytes(s.shardBytes)))"),
            ("payload", "\(Format.bytes(s.totalBytes)) of a \(Format.bytes(s.capBytes)) cap (\(Format.percent(used)))"),
        ])
    }
}
