#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// How messages are delimited on a stream.
public enum Framing: Sendable, Equatable {
    /// LSP's `Content-Length: N\r\n\r\n` header block followed by N bytes of JSON.
    case contentLength
    /// One JSON text per line (the shell's `printf '{...}\n' | advlensd`).
    case newlineDelimited

    /// The bytes that carry `body` as one frame in this framing.
    public func frame(_ body: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        appendFrame(body, to: &out)
        return out
    }

    public func appendFrame(_ body: [UInt8], to out: inout [UInt8]) {
        switch self {
        case .contentLength:
            out.append(contentsOf: "Content-Length: \(body.count)\r\n\r\n".utf8)
            out.append(contentsOf: body)
        case .newlineDelimited:
            // Compact JSON never holds a raw newline (strings escape it), so one line is one message.
            out.append(contentsOf: body)
            out.append(UInt8(ascii: "\n"))
        }
    }
}

/// What the frame decoder found next in the stream.
public enum FrameEvent: Equatable {
    /// One message body (not yet parsed).
    case message(ArraySlice<UInt8>)
    /// Bytes that are not a frame were skipped; the stream continues. Answer -32700.
    case garbage(String)
    /// A message longer than the limit was skipped whole; the stream continues. Answer -32600.
    case tooLarge(Int)
    /// The stream cannot be re-synchronised (a header block without a usable Content-Length or
    /// over 8 KiB). Answer -32700, then close the connection: guessing where the next frame
    /// starts would misread message bytes as headers.
    case fatal(String)
}

/// The framing state machine: bytes in (any chunking), events out. No I/O, so it is tested
/// byte by byte and fuzzed.
///
/// The framing is detected from the first non-whitespace byte: `C`/`c` means headers, anything
/// else newline-delimited JSON (a `{` or `[` normally; other bytes then give parse errors per
/// line, which helps a person typing at it more than a silent close). Scans resume where they
/// stopped, so feeding one byte at a time stays linear. An oversized message is skipped as its
/// bytes arrive and never buffered.
public struct FrameDecoder {
    public static let maxHeaderBytes = 8 * 1024

    public private(set) var framing: Framing?
    public let maxMessageBytes: Int

    private var buffer: [UInt8] = []
    private var start = 0          // first unconsumed byte
    private var scanned = 0        // bytes after `start` already searched for a terminator
    private var bodyLength: Int?   // Content-Length of the frame whose body we are waiting for
    private var skipping = 0       // bytes of an oversized Content-Length body still to drop
    private var discardingLine = false  // inside an oversized NDJSON line: drop up to its newline
    private var failed = false

    public init(maxMessageBytes: Int = JSONText.defaultMaxBytes) {
        self.maxMessageBytes = maxMessageBytes
    }

    /// Bytes buffered but not yet returned as events (a partial frame at EOF shows here).
    public var pendingBytes: Int { buffer.count - start }

    /// Whether a frame has started but not finished (EOF now would truncate it).
    public var hasPartialFrame: Bool {
        bodyLength != nil || skipping > 0 || discardingLine
            || buffer[start...].contains { !Self.isSpace($0) }
    }

    public mutating func push(_ bytes: UnsafeRawBufferPointer) {
        guard !failed, !bytes.isEmpty else { return }
        var bytes = bytes
        if skipping > 0 {
            let n = min(skipping, bytes.count)
            skipping -= n
            bytes = UnsafeRawBufferPointer(rebasing: bytes[n...])
            if bytes.isEmpty { return }
        }
        if start > 0 && (start == buffer.count || start >= 64 * 1024 && start * 2 >= buffer.count) {
            buffer.removeSubrange(0..<start)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    public mutating func push(_ bytes: [UInt8]) { bytes.withUnsafeBytes { push($0) } }

    /// The next event, or nil when more bytes are needed.
    public mutating func next() -> FrameEvent? {
        guard !failed else { return nil }
        if framing == nil {
            while start < buffer.count && Self.isSpace(buffer[start]) { start += 1 }
            guard start < buffer.count else { return nil }
            framing = buffer[start] | 0x20 == UInt8(ascii: "c") ? .contentLength : .newlineDelimited
        }
        return framing == .contentLength ? nextContentLength() : nextLine()
    }

    /// memchr: the NDJSON hot path scans every byte of every message once.
    static func indexOfNewline(in buffer: [UInt8], from: Int) -> Int? {
        guard from < buffer.count else { return nil }
        return buffer.withUnsafeBufferPointer { b -> Int? in
            guard let hit = memchr(b.baseAddress! + from, 0x0A, b.count - from) else { return nil }
            return b.baseAddress!.distance(to: hit.assumingMemoryBound(to: UInt8.self))
        }
    }

    static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 }

    // MARK: newline-delimited

    private mutating func nextLine() -> FrameEvent? {
        while true {
            let from = start + scanned
            guard let nl = Self.indexOfNewline(in: buffer, from: from) else {
                scanned = buffer.count - start
                if discardingLine { start = buffer.count; scanned = 0; return nil }
                if scanned > maxMessageBytes {
                    discardingLine = true
                    let n = scanned
                    start = buffer.count; scanned = 0
                    return .tooLarge(n)
                }
                return nil
            }
            let lineStart = start
            start = nl + 1
            scanned = 0
            if discardingLine { discardingLine = false; continue }
            var lineEnd = nl
            if lineEnd > lineStart && buffer[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            if lineEnd - lineStart > maxMessageBytes { return .tooLarge(lineEnd - lineStart) }
            // Blank lines between messages are fine.
            if !buffer[lineStart..<lineEnd].contains(where: { !Self.isSpace($0) }) { continue }
            return .message(buffer[lineStart..<lineEnd])
        }
    }

    /// At EOF: a final NDJSON line without its newline is still a message (`printf '{...}'`).
    public mutating func finish() -> FrameEvent? {
        guard !failed, framing == .newlineDelimited, !discardingLine, start < buffer.count else { return nil }
        let line = buffer[start...]
        start = buffer.count; scanned = 0
        if !line.contains(where: { !Self.isSpace($0) }) { return nil }
        if line.count > maxMessageBytes { return .tooLarge(line.count) }
        return .message(line)
    }

    // MARK: Content-Length

    private mutating func nextContentLength() -> FrameEvent? {
        if bodyLength == nil {
            // Blank lines before a header block are tolerated (some clients end bodies with CRLF).
            while start < buffer.count && Self.isSpace(buffer[start]) { start += 1; scanned = 0 }
            guard start < buffer.count else { return nil }
            // A header block never starts with "{" or "[": a bare JSON line between frames (a
            // client mixing framings) is read as one message, as newline-delimited JSON would be,
            // instead of being taken for an unknown header and dropped.
            // (Leftover bytes of a frame whose Content-Length was too small may also start with
            // one, but then a header follows on the same line: that case stays with the headers.)
            if buffer[start] == UInt8(ascii: "{") || buffer[start] == UInt8(ascii: "[") {
                guard let newline = buffer[start...].firstIndex(of: 0x0A) else {
                    if buffer.count - start > maxMessageBytes { return fail("a JSON line longer than \(maxMessageBytes) bytes without a newline") }
                    return nil
                }
                let line = buffer[start..<newline]
                if Self.find(caseInsensitive: "content-length", in: line) == nil {
                    start = newline + 1
                    scanned = 0
                    if line.count > maxMessageBytes { return .tooLarge(line.count) }
                    return .message(line)
                }
            }
            guard let end = findBlankLine() else {
                if buffer.count - start > Self.maxHeaderBytes {
                    return fail("header block longer than \(Self.maxHeaderBytes) bytes without an empty line")
                }
                return nil
            }
            let headerEnd = end.headerEnd
            if headerEnd - start > Self.maxHeaderBytes {
                return fail("header block longer than \(Self.maxHeaderBytes) bytes")
            }
            let parsed = Self.parseHeaders(buffer[start..<headerEnd])
            start = end.bodyStart
            scanned = 0
            switch parsed {
            case .failure(let reason):
                return fail(reason)
            case .success(let header):
                if header.length > maxMessageBytes {
                    let have = min(buffer.count - start, header.length)
                    start += have
                    skipping = header.length - have
                    return .tooLarge(header.length)
                }
                bodyLength = header.length
                if let junk = header.junk { return .garbage(junk) }
            }
        }
        guard let n = bodyLength, buffer.count - start >= n else {
            if let n = bodyLength { buffer.reserveCapacity(start + n) }
            return nil
        }
        bodyLength = nil
        let body = buffer[start..<start + n]
        start += n
        return .message(body)
    }

    private mutating func fail(_ reason: String) -> FrameEvent {
        failed = true
        buffer = []; start = 0; scanned = 0
        return .fatal(reason)
    }

    /// Finds the empty line ending the header block: "\r\n\r\n" or, leniently, "\n\n".
    private mutating func findBlankLine() -> (headerEnd: Int, bodyStart: Int)? {
        var k = start + max(0, scanned - 3)
        while k < buffer.count {
            if buffer[k] == 0x0A {
                // A header line ended at k; is the next line empty?
                if k + 1 < buffer.count && buffer[k + 1] == 0x0A { return (k, k + 2) }
                if k + 2 < buffer.count && buffer[k + 1] == 0x0D && buffer[k + 2] == 0x0A { return (k, k + 3) }
                if k + 2 >= buffer.count { break }   // undecided: wait for more bytes
            }
            k += 1
        }
        scanned = max(0, k - start)
        return nil
    }
}
