import Foundation

/// The `Encoder` that builds a `JSONValue` (results, notifications) without text in between.
///
/// Containers write into a reference node (`EncodeNode`), because Codable hands out containers
/// that outlive the call that created them. Primitives go straight into the node's members as
/// values (no node per field); a nested value gets its own node, which is flattened into a
/// plain `JSONValue` as soon as its `encode(to:)` returns. The node also links to its parent,
/// so the coding path exists only when asked for. Keys keep the order a type encodes them in;
/// a key encoded twice keeps its first position and its last value.
protocol JSONValueEncoderProtocol { func store(_ value: JSONValue) }

final class EncodeNode {
    enum Kind { case empty, value, object, array }
    var kind = Kind.empty
    var value = JSONValue.null
    var members: [(key: String, value: JSONValue)] = []
    var items: [JSONValue] = []
    /// Nested containers handed out before their content exists: filled in when flattening.
    var pending: [(position: Int, node: EncodeNode)] = []
    let parent: EncodeNode?
    let key: CodingKey?

    init(parent: EncodeNode?, key: CodingKey?) { self.parent = parent; self.key = key }

    static func path(_ node: EncodeNode?) -> [CodingKey] {
        var keys: [CodingKey] = []
        var n = node
        while let m = n { if let k = m.key { keys.append(k) }; n = m.parent }
        return keys.reversed()
    }

    var json: JSONValue {
        switch kind {
        case .empty: return .object(JSONObject())
        case .value: return value
        case .object:
            for (position, node) in pending { members[position].value = node.json }
            return .object(EncodeNode.object(members))
        case .array:
            for (position, node) in pending { items[position] = node.json }
            return .array(items)
        }
    }

    /// Members as an object; the check for a repeated key is a scan of short keys.
    static func object(_ members: [(key: String, value: JSONValue)]) -> JSONObject {
        if members.count <= 32 {
            var unique = true
            outer: for i in 1..<max(members.count, 1) {
                for j in 0..<i where members[j].key == members[i].key { unique = false; break outer }
            }
            if unique { return JSONObject(uniqueMembers: members) }
        }
        return JSONObject(members.map { ($0.key, $0.value) })
    }

    func makeObject() { if kind != .object { kind = .object; members = []; pending = [] } }
    func makeArray() { if kind != .array { kind = .array; items = []; pending = [] } }
}

struct ValueEncoder: Encoder, JSONValueEncoderProtocol {
    let node: EncodeNode
    var codingPath: [CodingKey] { EncodeNode.path(node) }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func store(_ value: JSONValue) { node.kind = .value; node.value = value }

    /// A Float as the Double of its shortest decimal, so it prints as itself (0.1, not
    /// 0.10000000149011612), as Foundation's encoder writes it.
    @inline(__always) static func number(_ f: Float) -> Double {
        let d = Double(f)
        if d.rounded(.towardZero) == d && Swift.abs(d) < 1e15 { return d }
        var text = f.description
        return text.withUTF8 { u in
            var p = Parser(base: u.baseAddress!, count: u.count, options: JSONText.Options())
            return (try? p.parseNumber()) ?? d
        }
    }

    /// Converts one Encodable found at `parent`/`key`: primitives directly (by comparing
    /// metatypes, no dynamic casts), everything else through its encode(to:).
    static func box<T: Encodable>(_ value: T, _ parent: EncodeNode?, _ key: CodingKey?) throws -> JSONValue {
        if T.self == Int.self { return .number(Double(unsafeBitCast(value, to: Int.self))) }
        if T.self == String.self { return .string(value as! String) }
        if T.self == Float.self { return try float(unsafeBitCast(value, to: Float.self), parent, key) }
        if T.self == Double.self { return try double(unsafeBitCast(value, to: Double.self), parent, key) }
        if T.self == Bool.self { return .bool(unsafeBitCast(value, to: Bool.self)) }
        if T.self == JSONValue.self { return value as! JSONValue }
        if T.self == UInt64.self { return .number(Double(unsafeBitCast(value, to: UInt64.self))) }
        if T.self == Int64.self { return .number(Double(unsafeBitCast(value, to: Int64.self))) }
        if T.self == Int32.self { return .number(Double(unsafeBitCast(value, to: Int32.self))) }
        if T.self == UInt32.self { return .number(Double(unsafeBitCast(value, to: UInt32.self))) }
        if T.self == UInt8.self { return .number(Double(unsafeBitCast(value, to: UInt8.self))) }
        if T.self == UInt.self { return .number(Double(unsafeBitCast(value, to: UInt.self))) }
        if T.self == Int16.self { return .number(Double(unsafeBitCast(value, to: Int16.self))) }
        if T.self == UInt16.self { return .number(Double(unsafeBitCast(value, to: UInt16.self))) }
        if T.self == Int8.self { return .number(Double(unsafeBitCast(value, to: Int8.self))) }
        if T.self == Data.self { return .string((value as! Data).base64EncodedString()) }
        if T.self == URL.self { return .string((value as! URL).absoluteString) }
        let node = EncodeNode(parent: parent, key: key)
        try value.encode(to: ValueEncoder(node: node))
        return node.json
    }

    @inline(__always) static func double(_ d: Double, _ parent: EncodeNode?, _ key: CodingKey?) throws -> JSONValue {
        guard d.isFinite else { throw nonFinite(parent, key, d) }
        return .number(d)
    }

    @inline(__always) static func float(_ f: Float, _ parent: EncodeNode?, _ key: CodingKey?) throws -> JSONValue {
        guard f.isFinite else { throw nonFinite(parent, key, Double(f)) }
        return .number(number(f))
    }

    static func nonFinite(_ parent: EncodeNode?, _ key: CodingKey?, _ d: Double) -> EncodingError {
        EncodingError.invalidValue(d, .init(codingPath: EncodeNode.path(parent) + (key.map { [$0] } ?? []),
                                            debugDescription: "\(d) cannot be written in JSON"))
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        node.makeObject()
        return KeyedEncodingContainer(KeyedEncoder<Key>(node: node))
    }

    func unkeyedContainer() -> UnkeyedEncodingContainer {
        node.makeArray()
        return ArrayEncoder(node: node)
    }

    func singleValueContainer() -> SingleValueEncodingContainer { SingleEncoder(node: node) }
}

struct KeyedEncoder<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: EncodeNode
    var codingPath: [CodingKey] { EncodeNode.path(node) }

    @inline(__always) func put(_ key: Key, _ value: JSONValue) { node.members.append((key.stringValue, value)) }

    mutating func encodeNil(forKey key: Key) throws { put(key, .null) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { put(key, try ValueEncoder.box(value, node, key)) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { put(key, .bool(value)) }
    mutating func encode(_ value: String, forKey key: Key) throws { put(key, .string(value)) }
    mutating func encode(_ value: Int, forKey key: Key) throws { put(key, .number(Double(value))) }
    mutating func encode(_ value: Double, forKey key: Key) throws { put(key, try ValueEncoder.double(value, node, key)) }
    mutating func encode(_ value: Float, forKey key: Key) throws { put(key, try ValueEncoder.float(value, node, key)) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        let child = EncodeNode(parent: node, key: key)
        child.makeObject()
        defer_(key, child)
        return KeyedEncodingContainer(KeyedEncoder<NestedKey>(node: child))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> UnkeyedEncodingContainer {
        let child = EncodeNode(parent: node, key: key)
        child.makeArray()
        defer_(key, child)
        return ArrayEncoder(node: child)
    }

    mutating func superEncoder() -> Encoder { superEncoder(named: NameKey("super")) }
    mutating func superEncoder(forKey key: Key) -> Encoder { superEncoder(named: key) }

    private func superEncoder(named key: CodingKey) -> Encoder {
        let child = EncodeNode(parent: node, key: key)
        node.pending.append((node.members.count, child))
        node.members.append((key.stringValue, .null))
        return ValueEncoder(node: child)
    }

    private func defer_(_ key: Key, _ child: EncodeNode) {
        node.pending.append((node.members.count, child))
        node.members.append((key.stringValue, .null))
    }
}

struct ArrayEncoder: UnkeyedEncodingContainer {
    let node: EncodeNode
    var codingPath: [CodingKey] { EncodeNode.path(node) }
    var count: Int { node.items.count }

    mutating func encodeNil() throws { node.items.append(.null) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        node.items.append(try ValueEncoder.box(value, node, IndexKey(node.items.count)))
    }

    mutating func encode(_ value: Int) throws { node.items.append(.number(Double(value))) }
    mutating func encode(_ value: Float) throws { node.items.append(try ValueEncoder.float(value, node, IndexKey(count))) }
    mutating func encode(_ value: Double) throws { node.items.append(try ValueEncoder.double(value, node, IndexKey(count))) }
    mutating func encode(_ value: String) throws { node.items.append(.string(value)) }
    mutating func encode(_ value: Bool) throws { node.items.append(.bool(value)) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let child = EncodeNode(parent: node, key: IndexKey(count))
        child.makeObject()
        node.pending.append((count, child))
        node.items.append(.null)
        return KeyedEncodingContainer(KeyedEncoder<NestedKey>(node: child))
    }

    mutating func nestedUnkeyedContainer() -> UnkeyedEncodingContainer {
        let child = EncodeNode(parent: node, key: IndexKey(count))
        child.makeArray()
        node.pending.append((count, child))
        node.items.append(.null)
        return ArrayEncoder(node: child)
    }

    mutating func superEncoder() -> Encoder {
        let child = EncodeNode(parent: node, key: IndexKey(count))
        node.pending.append((count, child))
        node.items.append(.null)
        return ValueEncoder(node: child)
    }
}

struct SingleEncoder: SingleValueEncodingContainer {
    let node: EncodeNode
    var codingPath: [CodingKey] { EncodeNode.path(node) }

    mutating func encodeNil() throws { node.kind = .value; node.value = .null }
    mutating func encode<T: Encodable>(_ value: T) throws {
        let v = try ValueEncoder.box(value, node.parent, node.key)
        node.kind = .value; node.value = v
    }
}
