import Foundation

/// The `Encoder` that builds a `JSONValue` (results, notifications) without text in between.
///
/// Containers write into reference nodes (`Node`), because Codable hands out containers that
/// outlive the call that created them; each `encode(to:)` is flattened into a plain
/// `JSONValue` as soon as it returns. Keys keep the order a type encodes them in.
protocol JSONValueEncoderProtocol { func store(_ value: JSONValue) }

final class Node {
    enum Content { case empty, value(JSONValue), object([(String, Node)]), array([Node]) }
    var content: Content = .empty

    init() {}
    init(_ v: JSONValue) { content = .value(v) }

    var json: JSONValue {
        switch content {
        case .empty: return .object(JSONObject())
        case .value(let v): return v
        case .object(let pairs): return .object(JSONObject(pairs.map { ($0.0, $0.1.json) }))
        case .array(let items): return .array(items.map(\.json))
        }
    }

    func set(_ key: String, _ child: Node) {
        if case .object(var pairs) = content {
            content = .empty   // drop the reference so `pairs` is uniquely owned while edited
            if let i = pairs.firstIndex(where: { $0.0 == key }) { pairs[i].1 = child } else { pairs.append((key, child)) }
            content = .object(pairs)
        } else {
            content = .object([(key, child)])
        }
    }

    func append(_ child: Node) {
        if case .array(var items) = content {
            content = .empty
            items.append(child)
            content = .array(items)
        } else {
            content = .array([child])
        }
    }
}

struct ValueEncoder: Encoder, JSONValueEncoderProtocol {
    let node: Node
    let codingPath: [CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func store(_ value: JSONValue) { node.content = .value(value) }

    static func encodeTop<T: Encodable>(_ value: T) throws -> JSONValue {
        try box(value, [])
    }

    /// Converts one Encodable: primitives directly, everything else through its encode(to:).
    static func box<T: Encodable>(_ value: T, _ path: [CodingKey]) throws -> JSONValue {
        switch value {
        case let v as JSONValue: return v
        case let s as String: return .string(s)
        case let b as Bool: return .bool(b)
        case let d as Double:
            guard d.isFinite else { throw nonFinite(path, d) }
            return .number(d)
        case let f as Float:
            guard f.isFinite else { throw nonFinite(path, Double(f)) }
            // Print a Float as itself (0.1, not 0.10000000149011612).
            return .number(Double(f.description) ?? Double(f))
        case let i as any FixedWidthInteger: return .number(Double(i))
        case let d as Data: return .string(d.base64EncodedString())
        case let u as URL: return .string(u.absoluteString)
        default:
            let node = Node()
            try value.encode(to: ValueEncoder(node: node, codingPath: path))
            return node.json
        }
    }

    static func nonFinite(_ path: [CodingKey], _ d: Double) -> EncodingError {
        EncodingError.invalidValue(d, .init(codingPath: path, debugDescription: "\(d) cannot be written in JSON"))
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if case .object = node.content {} else { node.content = .object([]) }
        return KeyedEncodingContainer(KeyedEncoder<Key>(node: node, codingPath: codingPath))
    }

    func unkeyedContainer() -> UnkeyedEncodingContainer {
        if case .array = node.content {} else { node.content = .array([]) }
        return ArrayEncoder(node: node, codingPath: codingPath)
    }

    func singleValueContainer() -> SingleValueEncodingContainer { SingleEncoder(node: node, codingPath: codingPath) }
}

struct KeyedEncoder<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: Node
    let codingPath: [CodingKey]

    mutating func encodeNil(forKey key: Key) throws { node.set(key.stringValue, Node(.null)) }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        node.set(key.stringValue, Node(try ValueEncoder.box(value, codingPath + [key])))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        let child = Node()
        child.content = .object([])
        node.set(key.stringValue, child)
        return KeyedEncodingContainer(KeyedEncoder<NestedKey>(node: child, codingPath: codingPath + [key]))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> UnkeyedEncodingContainer {
        let child = Node()
        child.content = .array([])
        node.set(key.stringValue, child)
        return ArrayEncoder(node: child, codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> Encoder { superEncoder(named: "super") }
    mutating func superEncoder(forKey key: Key) -> Encoder { superEncoder(named: key.stringValue) }

    private func superEncoder(named name: String) -> Encoder {
        let child = Node()
        node.set(name, child)
        return ValueEncoder(node: child, codingPath: codingPath + [NameKey(name)])
    }
}

struct ArrayEncoder: UnkeyedEncodingContainer {
    let node: Node
    let codingPath: [CodingKey]
    var count: Int { if case .array(let a) = node.content { return a.count }; return 0 }

    mutating func encodeNil() throws { node.append(Node(.null)) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        node.append(Node(try ValueEncoder.box(value, codingPath + [IndexKey(count)])))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let child = Node()
        child.content = .object([])
        let path = codingPath + [IndexKey(count)]
        node.append(child)
        return KeyedEncodingContainer(KeyedEncoder<NestedKey>(node: child, codingPath: path))
    }

    mutating func nestedUnkeyedContainer() -> UnkeyedEncodingContainer {
        let child = Node()
        child.content = .array([])
        let path = codingPath + [IndexKey(count)]
        node.append(child)
        return ArrayEncoder(node: child, codingPath: path)
    }

    mutating func superEncoder() -> Encoder {
        let child = Node()
        let path = codingPath + [IndexKey(count)]
        node.append(child)
        return ValueEncoder(node: child, codingPath: path)
    }
}

struct SingleEncoder: SingleValueEncodingContainer {
    let node: Node
    let codingPath: [CodingKey]

    mutating func encodeNil() throws { node.content = .value(.null) }
    mutating func encode<T: Encodable>(_ value: T) throws { node.content = .value(try ValueEncoder.box(value, codingPath)) }
}
