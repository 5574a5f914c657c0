import Foundation

/// The `Decoder` over a `JSONValue`: the conversion rules in one `unbox`, used by all containers.
///
/// A decoder knows where its value sits as (`parent`, `key`); a container makes that one
/// `PathNode` when opened, so the path costs one allocation per container and nothing per
/// primitive. Messages are written only when a failure reaches `JSONCoding.decode`.
struct ValueDecoder: Decoder, JSONValueDecoderProtocol, SingleValueDecodingContainer {
    let value: JSONValue
    let parent: PathNode?
    let key: CodingKey?
    let root: String
    /// The keys of this object that the type asked for (strict params: the rest are unknown).
    let asked: AskedKeys?
    /// The type being decoded, so a container of the wrong kind can say "an array of integers".
    let type: Any.Type?
    var userInfo: [CodingUserInfoKey: Any] { [:] }
    var jsonValue: JSONValue { value }
    var codingPath: [CodingKey] { PathNode.path(parent, key) }

    init(value: JSONValue, parent: PathNode?, key: CodingKey?, root: String, asked: AskedKeys? = nil, type: Any.Type? = nil) {
        self.value = value; self.parent = parent; self.key = key; self.root = root; self.asked = asked; self.type = type
    }

    /// The node of this value, for the containers opened on it.
    var node: PathNode? { key.map { PathNode(parent, $0) } ?? parent }

    func failure(_ parent: PathNode?, _ key: CodingKey?, _ reason: @escaping () -> String) -> DecodeFailure {
        DecodeFailure(root: root, parent: parent, key: key, reason: reason)
    }

    func mismatch(_ expected: @autoclosure @escaping () -> String, _ v: JSONValue, _ parent: PathNode?, _ key: CodingKey?) -> DecodeFailure {
        failure(parent, key) { "expected \(expected()), got \(TypeNames.got(v))" }
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let o) = value else {
            let t = self.type
            throw mismatch(t.flatMap { TypeNames.describe($0) } ?? "an object", value, parent, key)
        }
        asked?.opened = true
        return KeyedDecodingContainer(KeyedContainer<Key>(object: o, decoder: self, node: node))
    }

    func unkeyedContainer() throws -> UnkeyedDecodingContainer {
        guard case .array(let a) = value else {
            let t = self.type
            throw mismatch(t.flatMap { TypeNames.describe($0) } ?? "an array", value, parent, key)
        }
        return UnkeyedContainer(items: a, decoder: self, node: node)
    }

    func singleValueContainer() throws -> SingleValueDecodingContainer { self }

    // SingleValueDecodingContainer: everything goes through `unbox`.
    func decodeNil() -> Bool { value.isNull }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try unbox(type, value, parent, key) }
    func decode(_ type: String.Type) throws -> String { try string(value, parent, key) }
    func decode(_ type: Bool.Type) throws -> Bool { try bool(value, parent, key) }
    func decode(_ type: Double.Type) throws -> Double { try double(value, parent, key) }
    func decode(_ type: Float.Type) throws -> Float { try float(value, parent, key) }
    func decode(_ type: Int.Type) throws -> Int { try integer(Int.self, value, parent, key) }

    // MARK: Primitives

    @inline(__always) func string(_ v: JSONValue, _ parent: PathNode?, _ key: CodingKey?) throws -> String {
        guard case .string(let s) = v else { throw mismatch("a string", v, parent, key) }
        return s
    }

    @inline(__always) func bool(_ v: JSONValue, _ parent: PathNode?, _ key: CodingKey?) throws -> Bool {
        guard case .bool(let b) = v else { throw mismatch("a boolean", v, parent, key) }
        return b
    }

    @inline(__always) func double(_ v: JSONValue, _ parent: PathNode?, _ key: CodingKey?) throws -> Double {
        switch v {
        case .number(let d): return d
        case .integer(let i): return Double(i)
        default: throw mismatch("a number", v, parent, key)
        }
    }

    @inline(__always) func float(_ v: JSONValue, _ parent: PathNode?, _ key: CodingKey?) throws -> Float {
        let f = Float(try double(v, parent, key))
        guard f.isFinite else { throw mismatch("a number in Float's range", v, parent, key) }
        return f
    }

    func integer<I: FixedWidthInteger>(_ type: I.Type, _ v: JSONValue, _ parent: PathNode?, _ key: CodingKey?) throws -> I {
        switch v {
        case .number(let d):
            guard d.isFinite, d.rounded(.towardZero) == d else { throw mismatch("an integer", v, parent, key) }
            if let i = I(exactly: d) { return i }
        case .integer(let n):
            if let i = I(exactly: n) { return i }
        default:
            throw mismatch("an integer", v, parent, key)
        }
        throw mismatch("an integer in \(I.self)'s range (\(I.min)...\(I.max))", v, parent, key)
    }

    /// Converts `v` (found at `parent`/`key`) to `T`: primitives directly, everything else
    /// through T's init. `top`: the request's params object, which may carry workDoneToken.
    func unbox<T: Decodable>(_ type: T.Type, _ v: JSONValue, _ parent: PathNode?, _ key: CodingKey?, top: Bool = false) throws -> T {
        // Metatype comparisons: a pointer compare each, far cheaper than `is` casts.
        if T.self == Int.self { return unsafeBitCast(try integer(Int.self, v, parent, key), to: T.self) }
        if T.self == String.self { return try string(v, parent, key) as! T }
        if T.self == Float.self { return unsafeBitCast(try float(v, parent, key), to: T.self) }
        if T.self == Double.self { return unsafeBitCast(try double(v, parent, key), to: T.self) }
        if T.self == Bool.self { return unsafeBitCast(try bool(v, parent, key), to: T.self) }
        if T.self == JSONValue.self { return v as! T }
        if T.self == UInt64.self { return unsafeBitCast(try integer(UInt64.self, v, parent, key), to: T.self) }
        if T.self == Int64.self { return unsafeBitCast(try integer(Int64.self, v, parent, key), to: T.self) }
        if T.self == Int32.self { return unsafeBitCast(try integer(Int32.self, v, parent, key), to: T.self) }
        if T.self == UInt32.self { return unsafeBitCast(try integer(UInt32.self, v, parent, key), to: T.self) }
        if T.self == UInt8.self { return unsafeBitCast(try integer(UInt8.self, v, parent, key), to: T.self) }
        if T.self == UInt.self { return unsafeBitCast(try integer(UInt.self, v, parent, key), to: T.self) }
        if T.self == Int16.self { return unsafeBitCast(try integer(Int16.self, v, parent, key), to: T.self) }
        if T.self == UInt16.self { return unsafeBitCast(try integer(UInt16.self, v, parent, key), to: T.self) }
        if T.self == Int8.self { return unsafeBitCast(try integer(Int8.self, v, parent, key), to: T.self) }
        if T.self == Data.self {
            guard case .string(let s) = v else { throw mismatch("a base64 string", v, parent, key) }
            guard let d = Data(base64Encoded: s) else {
                throw failure(parent, key) { "expected a base64 string, got text that is not base64" }
            }
            return d as! T
        }
        if T.self == URL.self {
            guard case .string(let s) = v else { throw mismatch("a string", v, parent, key) }
            guard let u = URL(string: s) else { throw failure(parent, key) { "expected a URL, got \"\(s)\"" } }
            return u as! T
        }
        guard case .object(let object) = v else {
            return try T(from: ValueDecoder(value: v, parent: parent, key: key, root: root, type: T.self))
        }
        // An object: every key must be one the type asked for (read, probed or listed), so a
        // misspelt parameter is an error instead of a silent default.
        let asked = AskedKeys()
        let decoded = try T(from: ValueDecoder(value: v, parent: parent, key: key, root: root, asked: asked, type: T.self))
        if asked.opened, let unknown = asked.firstUnknown(in: object, top: top) {
            let name = object.key(at: unknown)
            let known = asked.names(in: object, top: top)
            throw failure(parent, key) { "" }.unknownField(name, known: known)
        }
        return decoded
    }
}

extension DecodeFailure {
    /// `params.x.name: unknown field; did you mean "..."?` (the path is the object's plus the name).
    func unknownField(_ name: String, known: Set<String>) -> DecodeFailure {
        let node = key.map { PathNode(parent, $0) } ?? parent
        return DecodeFailure(root: root, parent: node, key: NameKey(ClientText.echo(name))) {
            var message = "unknown field"
            if let near = FieldSuggestion.nearest(to: name, among: known) { message += "; did you mean \"\(near)\"?" }
            return message
        }
    }
}

struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let object: JSONObject
    let decoder: ValueDecoder
    let node: PathNode?
    var codingPath: [CodingKey] { PathNode.path(node, nil) }
    var allKeys: [Key] {
        var keys: [Key] = []
        for i in 0..<object.count {
            if let k = Key(stringValue: object.key(at: i)) { keys.append(k); decoder.asked?.mark(i) }
        }
        return keys
    }

    /// The member's value, noting that the type asked for it.
    @inline(__always) func lookup(_ key: Key) -> JSONValue? {
        let name = key.stringValue
        guard let i = object.position(of: name) else {
            decoder.asked?.missed.append(name)
            return nil
        }
        decoder.asked?.mark(i)
        return object.value(at: i)
    }

    func contains(_ key: Key) -> Bool { lookup(key) != nil }

    @inline(__always) func required(_ key: Key) throws -> JSONValue {
        guard let v = lookup(key) else { throw decoder.failure(node, key) { "required field missing" } }
        return v
    }

    func decodeNil(forKey key: Key) throws -> Bool { try required(key).isNull }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try decoder.unbox(type, try required(key), node, key)
    }

    /// Missing and null both mean "absent" for optional fields.
    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard let v = lookup(key), !v.isNull else { return nil }
        return try decoder.unbox(type, v, node, key)
    }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try decoder.bool(try required(key), node, key) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try decoder.string(try required(key), node, key) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try decoder.double(try required(key), node, key) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try decoder.float(try required(key), node, key) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try decoder.integer(type, try required(key), node, key) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try decoder.integer(type, try required(key), node, key) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try decoder.integer(type, try required(key), node, key) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try decoder.integer(type, try required(key), node, key) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try decoder.integer(type, try required(key), node, key) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try decoder.integer(type, try required(key), node, key) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try decoder.integer(type, try required(key), node, key) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try decoder.integer(type, try required(key), node, key) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try decoder.integer(type, try required(key), node, key) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try decoder.integer(type, try required(key), node, key) }

    @inline(__always) private func present(_ key: Key) -> JSONValue? {
        guard let v = lookup(key), !v.isNull else { return nil }
        return v
    }

    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? { try present(key).map { try decoder.bool($0, node, key) } }
    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? { try present(key).map { try decoder.string($0, node, key) } }
    func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? { try present(key).map { try decoder.double($0, node, key) } }
    func decodeIfPresent(_ type: Float.Type, forKey key: Key) throws -> Float? { try present(key).map { try decoder.float($0, node, key) } }
    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? { try present(key).map { try decoder.integer(type, $0, node, key) } }
    func decodeIfPresent(_ type: Int32.Type, forKey key: Key) throws -> Int32? { try present(key).map { try decoder.integer(type, $0, node, key) } }
    func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? { try present(key).map { try decoder.integer(type, $0, node, key) } }
    func decodeIfPresent(_ type: UInt64.Type, forKey key: Key) throws -> UInt64? { try present(key).map { try decoder.integer(type, $0, node, key) } }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try ValueDecoder(value: try required(key), parent: node, key: key, root: decoder.root).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> UnkeyedDecodingContainer {
        try ValueDecoder(value: try required(key), parent: node, key: key, root: decoder.root).unkeyedContainer()
    }

    func superDecoder() throws -> Decoder {
        let v = object.position(of: "super").map { object.value(at: $0) }
        if let i = object.position(of: "super") { decoder.asked?.mark(i) } else { decoder.asked?.missed.append("super") }
        return ValueDecoder(value: v ?? .null, parent: node, key: NameKey("super"), root: decoder.root)
    }

    func superDecoder(forKey key: Key) throws -> Decoder {
        ValueDecoder(value: lookup(key) ?? .null, parent: node, key: key, root: decoder.root)
    }
}

struct UnkeyedContainer: UnkeyedDecodingContainer {
    let items: [JSONValue]
    let decoder: ValueDecoder
    let node: PathNode?
    var currentIndex = 0
    var codingPath: [CodingKey] { PathNode.path(node, nil) }
    var count: Int? { items.count }
    var isAtEnd: Bool { currentIndex >= items.count }

    init(items: [JSONValue], decoder: ValueDecoder, node: PathNode?) { self.items = items; self.decoder = decoder; self.node = node }

    @inline(__always) mutating func next() throws -> JSONValue {
        guard currentIndex < items.count else {
            let n = items.count
            throw decoder.failure(node, nil) { "expected more elements (has \(n))" }
        }
        defer { currentIndex += 1 }
        return items[currentIndex]
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, items[currentIndex].isNull else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let i = currentIndex
        let v = try next()
        return try decoder.unbox(type, v, node, IndexKey(i))
    }

    mutating func decode(_ type: Int.Type) throws -> Int { let i = currentIndex; return try decoder.integer(type, try next(), node, IndexKey(i)) }
    mutating func decode(_ type: Float.Type) throws -> Float { let i = currentIndex; return try decoder.float(try next(), node, IndexKey(i)) }
    mutating func decode(_ type: Double.Type) throws -> Double { let i = currentIndex; return try decoder.double(try next(), node, IndexKey(i)) }
    mutating func decode(_ type: String.Type) throws -> String { let i = currentIndex; return try decoder.string(try next(), node, IndexKey(i)) }
    mutating func decode(_ type: Bool.Type) throws -> Bool { let i = currentIndex; return try decoder.bool(try next(), node, IndexKey(i)) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        let i = currentIndex
        let v = try next()
        return try ValueDecoder(value: v, parent: node, key: IndexKey(i), root: decoder.root).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> UnkeyedDecodingContainer {
        let i = currentIndex
        let v = try next()
        return try ValueDecoder(value: v, parent: node, key: IndexKey(i), root: decoder.root).unkeyedContainer()
    }

    mutating func superDecoder() throws -> Decoder {
        let i = currentIndex
        let v = try next()
        return ValueDecoder(value: v, parent: node, key: IndexKey(i), root: decoder.root)
    }
}
