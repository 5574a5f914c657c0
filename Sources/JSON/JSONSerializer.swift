/// `JSONValue` -> compact JSON bytes.
///
/// Output is what every JSON parser reads back to the same value: exact integers print without
/// a fraction (ids and counts look like the client sent them), other doubles print in their
/// shortest round-trip form, strings escape only what JSON requires (quote, backslash, control
/// characters) and keep other text as raw UTF-8. A non-finite double cannot be written in JSON;
/// producing one is a programming error upstream, and it is written as `null` rather than
/// emitting text no client could parse.
extension JSONText {
    public static func serialize(_ value: JSONValue, pretty: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(128)
        serialize(value, into: &out, pretty: pretty)
        return out
    }

    /// Appends the text of `value` to `out`: the connection builds a whole frame in one buffer.
    public static func serialize(_ value: JSONValue, into out: inout [UInt8], pretty: Bool = false) {
        var w = Writer(pretty: pretty)
        swap(&w.out, &out)
        w.write(value, indent: 0)
        swap(&w.out, &out)
    }

    /// The JSON text of a value as a String (tests, logs, the shell client's output).
    public static func string(_ value: JSONValue, pretty: Bool = false) -> String {
        String(decoding: serialize(value, pretty: pretty), as: UTF8.self)
    }

    /// Appends a quoted, escaped JSON string.
    public static func appendString(_ s: String, to out: inout [UInt8]) {
        var w = Writer(pretty: false)
        swap(&w.out, &out)
        w.writeString(s)
        swap(&w.out, &out)
    }

    /// Appends a JSON number (see the type's note for the format).
    public static func appendNumber(_ d: Double, to out: inout [UInt8]) {
        var w = Writer(pretty: false)
        swap(&w.out, &out)
        w.writeNumber(d)
        swap(&w.out, &out)
    }
}

struct Writer {
    var out: [UInt8] = []
    let pretty: Bool

    init(pretty: Bool) { self.pretty = pretty }

    mutating func write(_ v: JSONValue, indent: Int) {
        switch v {
        case .null: append("null")
        case .bool(let b): append(b ? "true" : "false")
        case .number(let d): writeNumber(d)
        case .integer(let n): writeInteger(n)
        case .string(let s): writeString(s)
        case .array(let a):
            out.append(UInt8(ascii: "["))
            for (k, e) in a.enumerated() {
                if k > 0 { out.append(UInt8(ascii: ",")) }
                newline(indent + 1)
                write(e, indent: indent + 1)
            }
            if !a.isEmpty { newline(indent) }
            out.append(UInt8(ascii: "]"))
        case .object(let o):
            out.append(UInt8(ascii: "{"))
            var first = true
            for (k, e) in o {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                newline(indent + 1)
                writeString(k)
                out.append(UInt8(ascii: ":"))
                if pretty { out.append(UInt8(ascii: " ")) }
                write(e, indent: indent + 1)
            }
            if !o.isEmpty { newline(indent) }
            out.append(UInt8(ascii: "}"))
        }
    }

    @inline(__always) mutating func newline(_ indent: Int) {
        guard pretty else { return }
        out.append(UInt8(ascii: "\n"))
        out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: indent * 2))
    }

    @inline(__always) mutating func append(_ s: StaticString) {
        out.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    mutating func writeNumber(_ d: Double) {
        guard d.isFinite else { append("null"); return }
        if d.rounded(.towardZero) == d && Swift.abs(d) < 1e17 {
            writeInteger(Int64(d))
        } else {
            out.append(contentsOf: d.description.utf8)
        }
    }

    mutating func writeInteger(_ value: Int64) {
        if value == 0 { out.append(UInt8(ascii: "0")); return }
        var v = value.magnitude
        if value < 0 { out.append(UInt8(ascii: "-")) }
        var buf: (UInt64, UInt64, UInt64) = (0, 0, 0)   // 24 bytes of stack, enough for 20 digits
        withUnsafeMutableBytes(of: &buf) { raw in
            var n = raw.count
            while v > 0 { n -= 1; raw[n] = UInt8(ascii: "0") + UInt8(v % 10); v /= 10 }
            out.append(contentsOf: raw[n...])
        }
    }

    mutating func writeString(_ s: String) {
        out.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { u in
            var runStart = 0
            for k in 0..<u.count {
                let c = u[k]
                guard c < 0x20 || c == 0x22 || c == 0x5C else { continue }
                if runStart < k { out.append(contentsOf: UnsafeBufferPointer(rebasing: u[runStart..<k])) }
                runStart = k + 1
                switch c {
                case 0x22: append("\\\"")
                case 0x5C: append("\\\\")
                case 0x0A: append("\\n")
                case 0x0D: append("\\r")
                case 0x09: append("\\t")
                case 0x08: append("\\b")
                case 0x0C: append("\\f")
                default:
                    append("\\u00")
                    let hex: StaticString = "0123456789abcdef"
                    out.append(hex.utf8Start[Int(c >> 4)])
                    out.append(hex.utf8Start[Int(c & 0xF)])
                }
            }
            if runStart < u.count { out.append(contentsOf: UnsafeBufferPointer(rebasing: u[runStart..<u.count])) }
        }
        out.append(UInt8(ascii: "\""))
    }
}
