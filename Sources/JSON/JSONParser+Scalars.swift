/// Strings and numbers for `Parser`: the byte-level work where the parser spends its time.
///
/// Strings are checked for UTF-8 validity while being scanned (RFC 3629: no overlong forms, no
/// surrogates, nothing past U+10FFFF), so a String is built only from bytes known good. `\u`
/// escapes must pair surrogates; a lone one is an error rather than a silent U+FFFD, so the
/// client learns that it sent text no Swift String can hold.
extension Parser {
    mutating func parseString() throws -> String {
        let open = i
        i += 1
        let start = i
        // Fast path: no escapes. Scan to the closing quote, validating as we go.
        while i < end {
            let c = p[i]
            if c == UInt8(ascii: "\"") {
                let s = String(decoding: UnsafeBufferPointer(start: p + start, count: i - start), as: UTF8.self)
                i += 1
                return s
            }
            if c == UInt8(ascii: "\\") { break }
            if c < 0x20 { throw fail("unescaped control character \(describeByte(c)) in a string") }
            if c < 0x80 { i += 1 } else { try skipUTF8Sequence() }
        }
        guard i < end else { throw fail("unterminated string starting at byte \(open)") }
        // Slow path: copy what we have, then decode escapes into `scratch`.
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: UnsafeBufferPointer(start: p + start, count: i - start))
        while i < end {
            let c = p[i]
            if c == UInt8(ascii: "\"") {
                i += 1
                return String(decoding: scratch, as: UTF8.self)
            }
            if c == UInt8(ascii: "\\") {
                try parseEscape()
            } else if c < 0x20 {
                throw fail("unescaped control character \(describeByte(c)) in a string")
            } else if c < 0x80 {
                scratch.append(c); i += 1
            } else {
                let s = i
                try skipUTF8Sequence()
                scratch.append(contentsOf: UnsafeBufferPointer(start: p + s, count: i - s))
            }
        }
        throw fail("unterminated string starting at byte \(open)")
    }

    /// Decodes one backslash escape at `i` into `scratch`.
    mutating func parseEscape() throws {
        let at = i
        guard i + 1 < end else { throw fail("unterminated escape sequence") }
        let e = p[i + 1]
        i += 2
        switch e {
        case UInt8(ascii: "\""): scratch.append(0x22)
        case UInt8(ascii: "\\"): scratch.append(0x5C)
        case UInt8(ascii: "/"): scratch.append(0x2F)
        case UInt8(ascii: "b"): scratch.append(0x08)
        case UInt8(ascii: "f"): scratch.append(0x0C)
        case UInt8(ascii: "n"): scratch.append(0x0A)
        case UInt8(ascii: "r"): scratch.append(0x0D)
        case UInt8(ascii: "t"): scratch.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try hex4()
            if scalar >= 0xD800 && scalar <= 0xDBFF {
                guard i + 1 < end, p[i] == UInt8(ascii: "\\"), p[i + 1] == UInt8(ascii: "u") else {
                    throw fail("lone high surrogate \\u\(String(scalar, radix: 16)) (expected a low surrogate to follow)", at: at)
                }
                i += 2
                let low = try hex4()
                guard low >= 0xDC00 && low <= 0xDFFF else {
                    throw fail("high surrogate not followed by a low surrogate", at: at)
                }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if scalar >= 0xDC00 && scalar <= 0xDFFF {
                throw fail("lone low surrogate \\u\(String(scalar, radix: 16))", at: at)
            }
            appendUTF8(scalar)
        default:
            throw fail("invalid escape \\\(describeByte(e))", at: at)
        }
    }

    mutating func hex4() throws -> UInt32 {
        guard end - i >= 4 else { throw fail("truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = p[i]
            let d: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c - UInt8(ascii: "A") + 10
            default: throw fail("invalid hex digit \(describeByte(c)) in a \\u escape")
            }
            v = v << 4 | UInt32(d)
            i += 1
        }
        return v
    }

    mutating func appendUTF8(_ s: UInt32) {
        if s < 0x80 {
            scratch.append(UInt8(s))
        } else if s < 0x800 {
            scratch.append(UInt8(0xC0 | s >> 6)); scratch.append(UInt8(0x80 | s & 0x3F))
        } else if s < 0x10000 {
            scratch.append(UInt8(0xE0 | s >> 12)); scratch.append(UInt8(0x80 | s >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | s & 0x3F))
        } else {
            scratch.append(UInt8(0xF0 | s >> 18)); scratch.append(UInt8(0x80 | s >> 12 & 0x3F))
            scratch.append(UInt8(0x80 | s >> 6 & 0x3F)); scratch.append(UInt8(0x80 | s & 0x3F))
        }
    }

    /// Advances over one multi-byte UTF-8 sequence starting at `i`, or throws naming its offset.
    mutating func skipUTF8Sequence() throws {
        let b0 = p[i]
        let n: Int
        var lo: UInt8 = 0x80, hi: UInt8 = 0xBF   // allowed range of the second byte
        switch b0 {
        case 0xC2...0xDF: n = 2
        case 0xE0: n = 3; lo = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: n = 3
        case 0xED: n = 3; hi = 0x9F
        case 0xF0: n = 4; lo = 0x90
        case 0xF1...0xF3: n = 4
        case 0xF4: n = 4; hi = 0x8F
        default: throw fail("invalid UTF-8 (\(describeByte(b0)) cannot start a character)")
        }
        guard end - i >= n else { throw fail("invalid UTF-8 (truncated character)") }
        let b1 = p[i + 1]
        guard b1 >= lo && b1 <= hi else { throw fail("invalid UTF-8 (bad continuation \(describeByte(b1)))", at: i + 1) }
        for k in 2..<max(n, 2) where p[i + k] & 0xC0 != 0x80 {
            throw fail("invalid UTF-8 (bad continuation \(describeByte(p[i + k])))", at: i + k)
        }
        i += n
    }

    /// RFC 8259 numbers. Exact fast path when the digits fit in 15 and the decimal exponent in
    /// ±22 (both operands exact doubles, one correctly rounded multiply or divide); otherwise
    /// the standard library's correctly rounded conversion. Overflow to infinity is an error.
    mutating func parseNumber() throws -> Double {
        let start = i
        var negative = false
        if p[i] == UInt8(ascii: "-") {
            negative = true; i += 1
            guard i < end else { throw fail("unexpected end of input in a number") }
        }
        var mantissa: UInt64 = 0
        var digits = 0
        var exponent = 0
        guard i < end, p[i] >= 0x30, p[i] <= 0x39 else { throw fail("expected a digit in a number") }
        if p[i] == 0x30 {
            i += 1
            if i < end, p[i] >= 0x30, p[i] <= 0x39 { throw fail("leading zeros are not allowed in a number", at: i) }
        } else {
            while i < end, p[i] >= 0x30, p[i] <= 0x39 {
                if digits < 19 { mantissa = mantissa &* 10 &+ UInt64(p[i] - 0x30) } else { exponent += 1 }
                if mantissa != 0 || digits > 0 { digits += 1 }
                i += 1
            }
        }
        if i < end, p[i] == UInt8(ascii: ".") {
            i += 1
            guard i < end, p[i] >= 0x30, p[i] <= 0x39 else { throw fail("expected a digit after the decimal point") }
            while i < end, p[i] >= 0x30, p[i] <= 0x39 {
                if digits < 19 {
                    mantissa = mantissa &* 10 &+ UInt64(p[i] - 0x30); exponent -= 1
                    if mantissa != 0 { digits += 1 }
                }
                i += 1
            }
        }
        var explicitExp = 0
        if i < end, p[i] | 0x20 == UInt8(ascii: "e") {
            i += 1
            var expNeg = false
            if i < end, p[i] == UInt8(ascii: "+") || p[i] == UInt8(ascii: "-") { expNeg = p[i] == UInt8(ascii: "-"); i += 1 }
            guard i < end, p[i] >= 0x30, p[i] <= 0x39 else { throw fail("expected a digit in the exponent") }
            while i < end, p[i] >= 0x30, p[i] <= 0x39 {
                if explicitExp < 100_000 { explicitExp = explicitExp * 10 + Int(p[i] - 0x30) }
                i += 1
            }
            if expNeg { explicitExp = -explicitExp }
        }
        exponent += explicitExp
        if digits <= 15 {
            if mantissa == 0 { return negative ? -0.0 : 0 }
            if exponent >= -22 && exponent <= 22 {
                let m = Double(mantissa)
                let v = exponent >= 0 ? m * Self.powersOf10[exponent] : m / Self.powersOf10[-exponent]
                return negative ? -v : v
            }
        }
        let text = String(decoding: UnsafeBufferPointer(start: p + start, count: i - start), as: UTF8.self)
        guard let v = Double(text), v.isFinite else { throw fail("number \(text) is out of range", at: start) }
        return v
    }

    /// With `exactIntegers`: an integer literal (no fraction, no exponent) that fits an Int64,
    /// consumed; nil (nothing consumed) for any other number, which `parseNumber` then reads.
    mutating func exactInteger() throws -> Int64? {
        var k = i
        let negative = p[k] == UInt8(ascii: "-")
        if negative { k += 1 }
        let digitsStart = k
        var magnitude: UInt64 = 0
        while k < end, p[k] >= 0x30, p[k] <= 0x39 {
            let (m1, o1) = magnitude.multipliedReportingOverflow(by: 10)
            let (m2, o2) = m1.addingReportingOverflow(UInt64(p[k] - 0x30))
            if o1 || o2 { return nil }
            magnitude = m2
            k += 1
        }
        let count = k - digitsStart
        if count == 0 || (count > 1 && p[digitsStart] == 0x30) { return nil }
        if k < end, p[k] == UInt8(ascii: ".") || p[k] | 0x20 == UInt8(ascii: "e") { return nil }
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { return nil }
            i = k
            return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { return nil }
        i = k
        return Int64(magnitude)
    }

    static let powersOf10: [Double] = (0...22).map { e in (0..<e).reduce(1.0) { acc, _ in acc * 10 } }
}
