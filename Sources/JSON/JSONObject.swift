/// A JSON object that keeps its keys in insertion order.
///
/// RPC objects are small (a handful of params), so members live in one array and lookups scan
/// it; past `indexThreshold` members a key -> position dictionary is kept too, so a large
/// object (a client-sent table) does not make parsing quadratic. A repeated key keeps its first
/// position and its last value, as most JSON parsers do.
///
/// Equality ignores order: `{"a":1,"b":2}` equals `{"b":2,"a":1}`, as JSON means.
public struct JSONObject: Sendable, Sequence {
    public typealias Element = (key: String, value: JSONValue)

    private(set) var members: [Element] = []
    private var index: [String: Int]? = nil
    private static let indexThreshold = 12

    public init() {}

    /// Builds an object from pairs in order; a repeated key keeps the last value.
    public init(_ pairs: [(String, JSONValue)]) {
        members.reserveCapacity(pairs.count)
        for (k, v) in pairs { self[k] = v }
    }

    public var count: Int { members.count }
    public var isEmpty: Bool { members.isEmpty }
    public var keys: [String] { members.map(\.key) }
    public var values: [JSONValue] { members.map(\.value) }

    public func makeIterator() -> IndexingIterator<[Element]> { members.makeIterator() }

    /// Gets or sets a member; setting nil removes it (order of the others is kept).
    public subscript(key: String) -> JSONValue? {
        get {
            guard let i = position(of: key) else { return nil }
            return members[i].value
        }
        set {
            if let i = position(of: key) {
                if let v = newValue {
                    members[i].value = v
                } else {
                    members.remove(at: i)
                    rebuildIndex()
                }
            } else if let v = newValue {
                members.append((key, v))
                if index != nil {
                    index![key] = members.count - 1
                } else if members.count > Self.indexThreshold {
                    rebuildIndex()
                }
            }
        }
    }

    /// Whether the object has a member named `key` (even one whose value is null).
    public func contains(_ key: String) -> Bool { position(of: key) != nil }

    /// The key and value at a position (0..<count), in order.
    @inline(__always) func key(at i: Int) -> String { members[i].key }
    @inline(__always) func value(at i: Int) -> JSONValue { members[i].value }

    /// Members known to have distinct keys (an encoder's output after its check).
    init(uniqueMembers: [Element]) { members = uniqueMembers; rebuildIndex() }

    @inline(__always) func position(of key: String) -> Int? {
        if let index { return index[key] }
        for i in members.indices where members[i].key == key { return i }
        return nil
    }

    private mutating func rebuildIndex() {
        guard members.count > Self.indexThreshold else { index = nil; return }
        var d = [String: Int](minimumCapacity: members.count)
        for (i, m) in members.enumerated() { d[m.key] = i }
        index = d
    }
}

extension JSONObject: Equatable {
    public static func == (a: JSONObject, b: JSONObject) -> Bool {
        guard a.count == b.count else { return false }
        for (k, v) in a where b[k] != v { return false }
        return true
    }
}

extension JSONObject: ExpressibleByDictionaryLiteral {
    public init(dictionaryLiteral elements: (String, JSONValue)...) { self.init(elements) }
}
