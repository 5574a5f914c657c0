/// Parsing one LSP header block, apart from the state machine so its rules read in one place.
///
/// Header names are case-insensitive; headers other than Content-Length (Content-Type...) are
/// accepted and ignored. A Content-Length that is missing, negative, non-numeric or repeated
/// with different values is fatal for the stream. Bytes before a `Content-Length:` on the
/// same line are what is left of a previous frame whose Content-Length was too small: they are
/// reported as garbage (one parse error) and the frame that follows is read normally.
extension FrameDecoder {
    struct Header: Equatable {
        var length: Int
        var junk: String?
    }

    enum HeaderResult: Equatable {
        case success(Header)
        case failure(String)
    }

    static func parseHeaders(_ block: ArraySlice<UInt8>) -> HeaderResult {
        var length: Int?
        var junk: String?
        for rawLine in block.split(separator: 0x0A, omittingEmptySubsequences: true) {
            var line = rawLine
            if line.last == 0x0D { line = line.dropLast() }
            guard !line.isEmpty else { continue }
            // Look for "content-length" anywhere in the line, so leftover bytes glued in front
            // of a header are recognised.
            if let at = find(caseInsensitive: "content-length", in: line) {
                if at > line.startIndex {
                    junk = "\(at - line.startIndex) bytes of leftover data before a header (was the previous Content-Length too small?)"
                }
                var rest = line[(at + 14)...]
                while let f = rest.first, f == 0x20 || f == 0x09 { rest = rest.dropFirst() }
                guard rest.first == UInt8(ascii: ":") else {
                    return .failure("malformed Content-Length header: \(printable(line))")
                }
                let value = String(decoding: rest.dropFirst(), as: UTF8.self).trimmingSpaces()
                guard !value.isEmpty, value.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let n = Int(value) else {
                    return .failure("invalid Content-Length value \"\(value.prefix(40))\" (expected a non-negative integer)")
                }
                if let old = length, old != n { return .failure("conflicting Content-Length headers (\(old) and \(n))") }
                length = n
            } else if !line.contains(UInt8(ascii: ":")) {
                junk = "malformed header line: \(printable(line))"
            }
        }
        guard let n = length else { return .failure("header block without a Content-Length header") }
        return .success(Header(length: n, junk: junk))
    }

    /// Position of `word` (lowercase ASCII) in `line`, ignoring case.
    static func find(caseInsensitive word: StaticString, in line: ArraySlice<UInt8>) -> Int? {
        let n = word.utf8CodeUnitCount
        guard line.count >= n else { return nil }
        let w = word.utf8Start
        var k = line.startIndex
        while k + n <= line.endIndex {
            var match = true
            for j in 0..<n where lower(line[k + j]) != w[j] { match = false; break }
            if match { return k }
            k += 1
        }
        return nil
    }

    static func lower(_ c: UInt8) -> UInt8 { c >= 0x41 && c <= 0x5A ? c | 0x20 : c }

    static func printable(_ line: ArraySlice<UInt8>) -> String {
        let s = String(decoding: line.prefix(60), as: UTF8.self)
        return "\"" + s.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "?" : String($0) }.joined() + "\""
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
