/// Writing a file whole or not at all: a temporary file `.<name>.tmp-<pid>-<n>` in the same
/// directory is written, fsynced and renamed over the target, so readers see the old file or
/// the new one, never a part. A process killed mid-write leaves its temporary behind; the
/// next write into that directory removes those whose process is gone.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum AtomicFile {
    /// Why a write failed: the path and the system's reason.
    public struct WriteError: Error, CustomStringConvertible, Sendable {
        public let path: String
        public let reason: String
        public var description: String { "\(path): \(reason)" }
    }

    /// The name of the temporary file a write to `name` goes through (in the same directory,
    /// hidden; the pid lets the next writer there tell a dead writer's leftovers).
    static func temporaryName(for name: String) -> String {
        "." + name + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    }

    /// A written, fsynced temporary beside its target, in a directory held open: `commit`
    /// renames it relative to that descriptor, so swapping the directory's path for a link in
    /// between cannot move the write elsewhere.
    public final class Prepared {
        let directory: Int32
        let temporaryName: String
        let name: String
        public let path: String
        var done = false

        init(directory: Int32, temporaryName: String, name: String, path: String) {
            (self.directory, self.temporaryName, self.name, self.path) = (directory, temporaryName, name, path)
        }

        /// Removes the temporary (a write given up).
        public func discard() {
            if !done { unlinkat(directory, temporaryName, 0); done = true }
        }

        /// Renames the temporary to `newName` (a plain file name) in the directory held open: for
        /// a file whose name is known only after it is written (an attack's strips, named by the
        /// handle made last). Relative to the descriptor, so a directory swapped for a link in
        /// between cannot move the file elsewhere.
        public func commit(as newName: String) throws {
            guard !newName.isEmpty, !newName.contains("/") else {
                discard()
                throw WriteError(path: path, reason: "not a plain file name: \(newName)")
            }
            guard renameat(directory, temporaryName, directory, newName) == 0 else {
                let reason = String(cString: strerror(errno))
                discard()
                throw WriteError(path: path, reason: "rename to \(newName) failed: \(reason)")
            }
            done = true
            _ = fsync(directory)
        }

        /// Removes the file committed as `name` by `commit(as:)` (a group of files given up after
        /// some were named), relative to the directory held open.
        public func removeCommitted(_ name: String) {
            unlinkat(directory, name, 0)
        }

        deinit {
            discard()
            close(directory)
        }
    }

    /// Writes `bytes` to a new temporary file beside `path`, fsynced. The directory is opened
    /// first and, under a `Confinement.root`, must really lie inside it; the temporary is
    /// created relative to that descriptor without following links.
    public static func prepare(_ bytes: UnsafeRawBufferPointer, for path: String) throws -> Prepared {
        let stream = try Stream(for: path)
        try stream.write(bytes)
        return try stream.finish()
    }

    /// A temporary beside its target written piece by piece (a kept result's shard written
    /// while an attack runs, its rows never all in memory); `finish` fsyncs it into a
    /// `Prepared` to commit. Dropped unfinished, the temporary is removed.
    public final class Stream {
        public let prepared: Prepared
        private var fd: Int32

        /// Opens the directory (checked as `prepare` does) and creates the temporary in it.
        public init(for path: String) throws {
            let (dir, name) = split(path)
            let dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard dfd >= 0 else { throw failure(path, "cannot open the directory \(dir)") }
            guard Confinement.holds(dfd) else {
                close(dfd)
                throw WriteError(path: path, reason: "the directory resolves outside the workspace root")
            }
            removeStaleTemporaries(inDirectory: dfd)
            let temporary = temporaryName(for: name)
            prepared = Prepared(directory: dfd, temporaryName: temporary, name: name, path: path)
            fd = openat(dfd, temporary, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o644)
            guard fd >= 0 else { prepared.done = true; throw failure(path, "cannot create temporary file \(dir)/\(temporary)") }
        }

        /// Appends `bytes`.
        public func write(_ bytes: UnsafeRawBufferPointer) throws {
            var done = 0
            while done < bytes.count {
                let n = Glibc_write(fd, bytes.baseAddress! + done, bytes.count - done)
                if n < 0 { if errno == EINTR { continue }; throw failure(prepared.path, "write failed") }
                done += n
            }
        }

        /// Reads back up to `into.count` bytes written at `offset`; returns how many.
        public func read(at offset: Int, into: UnsafeMutableRawBufferPointer) throws -> Int {
            while true {
                let n = pread(fd, into.baseAddress!, into.count, off_t(offset))
                if n < 0 { if errno == EINTR { continue }; throw failure(prepared.path, "read back failed") }
                return n
            }
        }

        /// Fsyncs and closes the temporary, ready to commit.
        public func finish() throws -> Prepared {
            defer { close(fd); fd = -1 }
            guard fsync(fd) == 0 else { throw failure(prepared.path, "fsync failed") }
            return prepared
        }

        deinit { if fd >= 0 { close(fd) } }
    }

    static func failure(_ path: String, _ what: String) -> WriteError {
        WriteError(path: path, reason: "\(what): \(String(cString: strerror(errno)))")
    }

    /// Renames a prepared temporary over its target (relative to the directory held open) and
    /// syncs the directory.
    public static func commit(_ p: Prepared) throws {
        guard renameat(p.directory, p.temporaryName, p.directory, p.name) == 0 else {
            let reason = String(cString: strerror(errno))
            p.discard()
            throw WriteError(path: p.path, reason: "rename failed: \(reason)")
        }
        p.done = true
        _ = fsync(p.directory)
    }

    /// Writes `bytes` to `path` atomically (temporary, fsync, rename).
    public static func write(_ bytes: UnsafeRawBufferPointer, to path: String) throws {
        try commit(try prepare(bytes, for: path))
    }

    public static func write(_ bytes: [UInt8], to path: String) throws {
        try bytes.withUnsafeBytes { try write($0, to: path) }
    }

    /// Removes the temporaries `.<name>.tmp-<pid>-<n>` (and `<name>.tmp-<pid>`, the older
    /// form) in `dir` whose process no longer runs. Those of live processes (this one, another
    /// daemon sharing the directory) are kept. Returns how many were removed.
    @discardableResult
    public static func removeStaleTemporaries(in dir: String) -> Int {
        let dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dfd >= 0 else { return 0 }
        defer { close(dfd) }
        return removeStaleTemporaries(inDirectory: dfd)
    }

    /// The same in the directory open at `dfd` (listed and unlinked relative to it, so a path
    /// swapped for a link meanwhile cannot point the removal elsewhere).
    @discardableResult
    static func removeStaleTemporaries(inDirectory dfd: Int32) -> Int {
        let listing = dup(dfd)
        guard listing >= 0, let d = fdopendir(listing) else { return 0 }
        defer { closedir(d) }
        var removed = 0
        while let entry = readdir(d) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            guard let pid = temporaryOwner(name), pid != getpid() else { continue }
            if kill(pid, 0) == 0 || errno == EPERM { continue }  // alive (EPERM: alive, another user's)
            var st = stat()
            guard fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0, st.st_mode & S_IFMT == S_IFREG else { continue }
            if unlinkat(dfd, name, 0) == 0 { removed += 1 }
        }
        return removed
    }

    /// The pid in a temporary's name: ".x.tmp-123-456" or "x.tmp-123" → 123.
    static func temporaryOwner(_ name: String) -> pid_t? {
        let bytes = Array(name.utf8), marker = Array(".tmp-".utf8)
        guard bytes.count > marker.count else { return nil }
        var at: Int? = nil
        for i in stride(from: bytes.count - marker.count, through: 1, by: -1) where Array(bytes[i..<(i + marker.count)]) == marker {
            at = i
            break
        }
        guard let at else { return nil }
        let parts = bytes[(at + marker.count)...].split(separator: UInt8(ascii: "-"), omittingEmptySubsequences: false)
        let hidden = bytes[0] == UInt8(ascii: ".")
        guard (hidden && parts.count == 2) || (!hidden && parts.count == 1),
              parts.allSatisfy({ !$0.isEmpty && $0.count <= 10 && $0.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }),
              let pid = pid_t(String(decoding: parts[0], as: UTF8.self)), pid > 0 else { return nil }
        return pid
    }

    static func split(_ path: String) -> (dir: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let dir = String(path[..<slash])
        return (dir.isEmpty ? "/" : dir, String(path[path.index(after: slash)...]))
    }
}

@inline(__always)
private func Glibc_write(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(fd, p, n)
    #else
    return Darwin.write(fd, p, n)
    #endif
}
