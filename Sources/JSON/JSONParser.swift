import Foundation

/// JSON text <-> `JSONValue`, over bytes, without Foundation's JSONSerialization.
///
/// The daemon parses every message on its one reader thread, so parsing is a single pass of
/// recursive descent over a raw buffer: no intermediate token list, strings without escapes
/// are made in one copy, and integers and short decimals take an exact fast path (Clinger's)
/// instead of strtod. It is strict, because a lenient parser lets malformed clients look
/// correct until they meet another server: RFC 8259 grammar, valid UTF-8 only, no NaN or
/// Infinity, no trailing bytes, nesting bounded by `maxDepth` (which also bounds recursion).
/// Errors are `JSONError`s of kind `.syntax` with a message naming the byte offset (the RPC
/// layer answers them -32700 with that message).
///
/// Two options serve readers of other formats' JSON (the safetensors header): `exactIntegers`
/// makes every integer literal that fits an `Int64` a `.integer` (so 2^63 - 1 is read exactly
/// and `2.0` or `1e1` stay `.number`, distinguishable), and `rejectDuplicateKeys` refuses a
/// repeated key instead of keeping its last value.
public enum JSONText {
    public static let defaultMaxDepth = 64
    public static let defaultMaxBytes = 64 << 20

    public struct Options: Sendable {
        public var maxDepth = JSONText.defaultMaxDepth
        public var maxBytes = JSONText.defaultMaxBytes
        public var exactIntegers = false
        public var rejectDuplicateKeys = false
        public init(maxDepth: Int = JSONText.defaultMaxDepth, maxBytes: Int = JSONText.defaultMaxBytes,
                    exactIntegers: Bool = false, rejectDuplicateKeys: Bool = false) {
            self.maxDepth = maxDepth; self.maxBytes = maxBytes
            self.exactIntegers = exactIntegers; self.rejectDuplicateKeys = rejectDuplicateKeys
        }
    }

    public static func parse(_ bytes: UnsafeRawBufferPointer, options: Options) throws -> JSONValue {
        guard bytes.count <= options.maxBytes else {
            throw JSONError(.syntax, "message too large: \(bytes.count) bytes exceeds the limit of \(options.maxBytes)")
        }
        guard let base = bytes.baseAddress, bytes.count > 0 else {
            throw JSONError(.syntax, "unexpected end of input at byte 0: empty message")
        }
        var p = Parser(base: base.assumingMemoryBound(to: UInt8.self), count: bytes.count, options: options)
        return try p.parseDocument()
    }

    public static func parse(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = defaultMaxDepth,
                             maxBytes: Int = defaultMaxBytes) throws -> JSONValue {
        try parse(bytes, options: Options(maxDepth: maxDepth, maxBytes: maxBytes))
    }

    public static func parse(_ bytes: [UInt8], options: Options) throws -> JSONValue {
        try bytes.withUnsafeBytes { try parse($0, options: options) }
    }

    public static func parse(_ bytes: [UInt8], maxDepth: Int = defaultMaxDepth, maxBytes: Int = defaultMaxBytes) throws -> JSONValue {
        try bytes.withUnsafeBytes { try parse($0, maxDepth: maxDepth, maxBytes: maxBytes) }
    }

    public static func parse(_ bytes: ArraySlice<UInt8>, options: Options) throws -> JSONValue {
        try bytes.withUnsafeBytes { try parse($0, options: options) }
    }

    public static func parse(_ bytes: ArraySlice<UInt8>, maxDepth: Int = defaultMaxDepth, maxBytes: Int = defaultMaxBytes) throws -> JSONValue {
        try bytes.withUnsafeBytes { try parse($0, maxDepth: maxDepth, maxBytes: maxBytes) }
    }

    public static func parse(_ data: Data, maxDepth: Int = defaultMaxDepth, maxBytes: Int = defaultMaxBytes) throws -> JSONValue {
        try data.withUnsafeBytes { try parse($0, maxDepth: maxDepth, maxBytes: maxBytes) }
    }

    public static func parse(_ text: String, maxDepth: Int = defaultMaxDepth, maxBytes: Int = defaultMaxBytes) throws -> JSONValue {
        try parse(Array(text.utf8), maxDepth: maxDepth, maxBytes: maxBytes)
    }
}

/// The recursive-descent state: a cursor over one message.
struct Parser {
    let p: UnsafePointer<UInt8>
    let end: Int
    let maxDepth: Int
    let exactIntegers: Bool
    let rejectDuplicateKeys: Bool
    var i = 0
    var depth = 0
    /// Reused for strings with escapes, so a message with many of them allocates once.
    var scratch: [UInt8] = []

    init(base: UnsafePointer<UInt8>, count: Int, options: JSONText.Options) {
        self.p = base; self.end = count; self.maxDepth = options.maxDepth
        self.exactIntegers = options.exactIntegers; self.rejectDuplicateKeys = options.rejectDuplicateKeys
    }

    mutating func parseDocument() throws -> JSONValue {
        skipWhitespace()
        let v = try parseValue()
        skipWhitespace()
        if i != end { throw fail("unexpected \(describeByte(p[i])) after the JSON value (trailing garbage)") }
        return v
    }

    func fail(_ reason: String, at offset: Int? = nil) -> JSONError {
        JSONError(.syntax, "invalid JSON at byte \(offset ?? i): \(reason)")
    }

    func describeByte(_ b: UInt8) -> String {
        if b >= 0x20 && b < 0x7F { return "'\(Character(Unicode.Scalar(b)))'" }
        return "byte 0x" + String(b, radix: 16, uppercase: true)
    }

    @inline(__always) mutating func skipWhitespace() {
        while i < end {
            let c = p[i]
            if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { i += 1 } else { return }
        }
    }

    mutating func parseValue() throws -> JSONValue {
        guard i < end else { throw fail("unexpected end of input, expected a value") }
        switch p[i] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            if exactIntegers, let n = try exactInteger() { return .integer(n) }
            return .number(try parseNumber())
        case UInt8(ascii: "N"), UInt8(ascii: "I"):
            throw fail("NaN and Infinity are not JSON numbers")
        case let c: throw fail("unexpected \(describeByte(c)), expected a value")
        }
    }

    mutating func literal(_ word: StaticString) throws {
        let n = word.utf8CodeUnitCount
        let w = word.utf8Start
        guard end - i >= n else { throw fail("unexpected end of input in literal \(word)") }
        for k in 0..<n where p[i + k] != w[k] { throw fail("invalid literal, expected \(word)", at: i + k) }
        i += n
    }

    mutating func enter() throws {
        depth += 1
        if depth > maxDepth { throw fail("nesting deeper than the limit of \(maxDepth)") }
    }

    mutating func parseArray() throws -> JSONValue {
        try enter()
        i += 1
        var items: [JSONValue] = []
        skipWhitespace()
        if i < end && p[i] == UInt8(ascii: "]") { i += 1; depth -= 1; return .array(items) }
        while true {
            skipWhitespace()
            items.append(try parseValue())
            skipWhitespace()
            guard i < end else { throw fail("unexpected end of input in an array") }
            let c = p[i]
            i += 1
            if c == UInt8(ascii: ",") { continue }
            if c == UInt8(ascii: "]") { break }
            throw fail("expected ',' or ']' in an array, got \(describeByte(c))", at: i - 1)
        }
        depth -= 1
        return .array(items)
    }

    mutating func parseObject() throws -> JSONValue {
        try enter()
        i += 1
        var object = JSONObject()
        skipWhitespace()
        if i < end && p[i] == UInt8(ascii: "}") { i += 1; depth -= 1; return .object(object) }
        while true {
            skipWhitespace()
            guard i < end else { throw fail("unexpected end of input in an object") }
            guard p[i] == UInt8(ascii: "\"") else { throw fail("expected a string key, got \(describeByte(p[i]))") }
            let keyAt = i
            let key = try parseString()
            skipWhitespace()
            guard i < end, p[i] == UInt8(ascii: ":") else {
                throw fail(i < end ? "expected ':' after an object key, got \(describeByte(p[i]))" : "unexpected end of input after an object key")
            }
            i += 1
            skipWhitespace()
            if rejectDuplicateKeys, object.contains(key) {
                throw JSONError(.duplicateKey(key, depth: depth), "invalid JSON at byte \(keyAt): duplicate key \"\(key)\"")
            }
            object[key] = try parseValue()
            skipWhitespace()
            guard i < end else { throw fail("unexpected end of input in an object") }
            let c = p[i]
            i += 1
            if c == UInt8(ascii: ",") { continue }
            if c == UInt8(ascii: "}") { break }
            throw fail("expected ',' or '}' in an object, got \(describeByte(c))", at: i - 1)
        }
        depth -= 1
        return .object(object)
    }
}
