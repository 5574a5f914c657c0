import Foundation

/// The `Decoder` over a `JSONValue`: the conversion rules in one `unbox`, used by all containers.
struct ValueDecoder: Decoder, JSONValueDecoderProtocol, SingleValueDecodingContainer {
    let value: JSONValue
    let codingPath: [CodingKey]
    let root: String
    /// The keys of this object that the type asked for (strict params: the rest are unknown).
    let asked: AskedKeys?
    var userInfo: [CodingUserInfoKey: Any] { [:] }
    var jsonValue: JSONValue { value }

    init(value: JSONValue, codingPath: [CodingKey], root: String, asked: AskedKeys? = nil) {
        self.value = value; self.codingPath = codingPath; self.root = root; self.asked = asked
    }

    func mismatch(_ expected: String, _ v: JSONValue, _ path: [CodingKey]) -> RPCError {
        .invalidParams("\(JSONValueCoding.pathString(root, path)): expected \(expected), got \(TypeNames.got(v))")
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let o) = value else { throw mismatch("an object", value, codingPath) }
        asked?.opened = true
        return KeyedDecodingContainer(KeyedContainer<Key>(object: o, decoder: self))
    }

    func unkeyedContainer() throws -> UnkeyedDecodingContainer {
        guard case .array(let a) = value else { throw mismatch("an array", value, codingPath) }
        return UnkeyedContainer(items: a, decoder: self)
    }

    func singleValueContainer() throws -> SingleValueDecodingContainer { self }

    // SingleValueDecodingContainer: everything goes through `unbox`.
    func decodeNil() -> Bool { value.isNull }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try unbox(type, value, codingPath) }

    /// Converts `v` (found at `path`) to `T`: primitives directly, containers through T's init.
    func unbox<T: Decodable>(_ type: T.Type, _ v: JSONValue, _ path: [CodingKey]) throws -> T {
        switch type {
        case is JSONValue.Type: return v as! T
        case is String.Type:
            guard case .string(let s) = v else { throw mismatch("a string", v, path) }
            return s as! T
        case is Bool.Type:
            guard case .bool(let b) = v else { throw mismatch("a boolean", v, path) }
            return b as! T
        case is Double.Type:
            guard case .number(let d) = v else { throw mismatch("a number", v, path) }
            return d as! T
        case is Float.Type:
            guard case .number(let d) = v else { throw mismatch("a number", v, path) }
            let f = Float(d)
            guard f.isFinite else { throw mismatch("a number in Float's range", v, path) }
            return f as! T
        case let intType as any FixedWidthInteger.Type:
            return try unboxInteger(intType, v, path) as! T
        case is Data.Type:
            guard case .string(let s) = v else { throw mismatch("a base64 string", v, path) }
            guard let d = Data(base64Encoded: s) else {
                throw RPCError.invalidParams("\(JSONValueCoding.pathString(root, path)): expected a base64 string, got text that is not base64")
            }
            return d as! T
        case is URL.Type:
            guard case .string(let s) = v else { throw mismatch("a string", v, path) }
            guard let u = URL(string: s) else {
                throw RPCError.invalidParams("\(JSONValueCoding.pathString(root, path)): expected a URL, got \"\(s)\"")
            }
            return u as! T
        default:
            break
        }
        // Check the container kind first so the message can say "an array of integers".
        if type is ArrayTypeMarker.Type, v.arrayValue == nil {
            throw mismatch(TypeNames.describe(type) ?? "an array", v, path)
        }
        if type is StringKeyedDictionaryMarker.Type, v.objectValue == nil {
            throw mismatch("an object", v, path)
        }
        guard case .object(let object) = v else { return try T(from: ValueDecoder(value: v, codingPath: path, root: root)) }
        // An object: every key must be one the type asked for (read, probed or listed), so a
        // misspelt parameter is an error instead of a silent default.
        let asked = AskedKeys()
        // LSP's work-done token may ride on any request's params: the connection reads it.
        if path.isEmpty { asked.keys.insert("workDoneToken") }
        let decoded = try T(from: ValueDecoder(value: v, codingPath: path, root: root, asked: asked))
        if asked.opened, let unknown = object.keys.first(where: { !asked.keys.contains($0) }) {
            var message = "\(JSONValueCoding.pathString(root, path + [NameKey(unknown)])): unknown field"
            if let near = FieldSuggestion.nearest(to: unknown, among: asked.keys) { message += "; did you mean \"\(near)\"?" }
            throw RPCError.invalidParams(message)
        }
        return decoded
    }

    func unboxInteger<I: FixedWidthInteger>(_ type: I.Type, _ v: JSONValue, _ path: [CodingKey]) throws -> I {
        guard case .number(let d) = v else { throw mismatch("an integer", v, path) }
        guard d.isFinite, d.rounded(.towardZero) == d else { throw mismatch("an integer", v, path) }
        guard let i = I(exactly: d) else {
            throw mismatch("an integer in \(I.self)'s range (\(I.min)...\(I.max))", v, path)
        }
        return i
    }
}

struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let object: JSONObject
    let decoder: ValueDecoder
    var codingPath: [CodingKey] { decoder.codingPath }
    var allKeys: [Key] {
        let keys = object.keys.compactMap { Key(stringValue: $0) }
        for k in keys { decoder.asked?.keys.insert(k.stringValue) }
        return keys
    }

    func contains(_ key: Key) -> Bool {
        decoder.asked?.keys.insert(key.stringValue)
        return object.contains(key.stringValue)
    }

    func required(_ key: Key) throws -> JSONValue {
        decoder.asked?.keys.insert(key.stringValue)
        guard let v = object[key.stringValue] else {
            throw RPCError.invalidParams("\(JSONValueCoding.pathString(decoder.root, codingPath + [key])): required field missing")
        }
        return v
    }

    func decodeNil(forKey key: Key) throws -> Bool { try required(key).isNull }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try decoder.unbox(type, try required(key), codingPath + [key])
    }

    /// Missing and null both mean "absent" for optional fields.
    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        decoder.asked?.keys.insert(key.stringValue)
        guard let v = object[key.stringValue], !v.isNull else { return nil }
        return try decoder.unbox(type, v, codingPath + [key])
    }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try decode(type as Bool.Type, key) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try decode(type as String.Type, key) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try decode(type as Double.Type, key) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try decode(type as Float.Type, key) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try decode(type as Int.Type, key) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try decode(type as Int8.Type, key) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try decode(type as Int16.Type, key) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try decode(type as Int32.Type, key) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try decode(type as Int64.Type, key) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try decode(type as UInt.Type, key) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try decode(type as UInt8.Type, key) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try decode(type as UInt16.Type, key) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try decode(type as UInt32.Type, key) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try decode(type as UInt64.Type, key) }

    private func decode<T: Decodable>(_ type: T.Type, _ key: Key) throws -> T {
        try decoder.unbox(type, try required(key), codingPath + [key])
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try ValueDecoder(value: try required(key), codingPath: codingPath + [key], root: decoder.root).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> UnkeyedDecodingContainer {
        try ValueDecoder(value: try required(key), codingPath: codingPath + [key], root: decoder.root).unkeyedContainer()
    }

    func superDecoder() throws -> Decoder {
        decoder.asked?.keys.insert("super")
        return ValueDecoder(value: object["super"] ?? .null, codingPath: codingPath + [NameKey("super")], root: decoder.root)
    }

    func superDecoder(forKey key: Key) throws -> Decoder {
        decoder.asked?.keys.insert(key.stringValue)
        return ValueDecoder(value: object[key.stringValue] ?? .null, codingPath: codingPath + [key], root: decoder.root)
    }
}

struct UnkeyedContainer: UnkeyedDecodingContainer {
    let items: [JSONValue]
    let decoder: ValueDecoder
    var currentIndex = 0
    var codingPath: [CodingKey] { decoder.codingPath }
    var count: Int? { items.count }
    var isAtEnd: Bool { currentIndex >= items.count }

    init(items: [JSONValue], decoder: ValueDecoder) { self.items = items; self.decoder = decoder }

    mutating func next() throws -> (JSONValue, [CodingKey]) {
        guard !isAtEnd else {
            throw RPCError.invalidParams("\(JSONValueCoding.pathString(decoder.root, codingPath)): expected more elements (has \(items.count))")
        }
        defer { currentIndex += 1 }
        return (items[currentIndex], codingPath + [IndexKey(currentIndex)])
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, items[currentIndex].isNull else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let (v, path) = try next()
        return try decoder.unbox(type, v, path)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        let (v, path) = try next()
        return try ValueDecoder(value: v, codingPath: path, root: decoder.root).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> UnkeyedDecodingContainer {
        let (v, path) = try next()
        return try ValueDecoder(value: v, codingPath: path, root: decoder.root).unkeyedContainer()
    }

    mutating func superDecoder() throws -> Decoder {
        let (v, path) = try next()
        return ValueDecoder(value: v, codingPath: path, root: decoder.root)
    }
}
