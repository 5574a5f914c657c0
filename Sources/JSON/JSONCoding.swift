import Foundation

/// Codable straight to and from `JSONValue`, with errors a client can act on.
///
/// Decoding walks the `JSONValue` tree with a real `Decoder` (no text round trip). Every
/// failure is a `JSONError` of kind `.invalidValue` naming the field path and what was
/// expected, e.g. `params.inputs[2].indices: expected an array of integers, got string` or
/// `params.model: required field missing`. Integer fields accept only numbers that are exact
/// integers in the field's range. Objects are strict: a key the type did not ask for is
/// refused (`params.eps: unknown field; did you mean "epsilon"?`). `Data` travels as base64
/// and `URL` as a string, as with Foundation's JSONEncoder; `JSONValue` fields pass through.
///
/// Speed: primitives are recognised by comparing metatypes (no dynamic casts), and the path
/// to a value is a chain of `PathNode`s made once per container, turned into text only when
/// an error is thrown.
public enum JSONCoding {
    public static func decode<T: Decodable>(_ type: T.Type, from value: JSONValue, path: String = "params") throws -> T {
        do {
            return try ValueDecoder(value: value, parent: nil, key: nil, root: path).unbox(type, value, nil, nil, top: true)
        } catch let failure as DecodeFailure {
            let field = failure.path, reason = failure.reason()
            throw JSONError(.invalidValue, "\(field): \(reason)", field: field, reason: reason)
        } catch let error as DecodingError {
            // Thrown by a type's own init(from:) (e.g. a String enum with an unknown raw value).
            let (field, reason) = convert(error, root: path)
            throw JSONError(.invalidValue, "\(field): \(reason)", field: field, reason: reason)
        }
    }

    public static func encode<T: Encodable>(_ value: T) throws -> JSONValue {
        try ValueEncoder.box(value, nil, nil)
    }

    /// "params.inputs[2].indices" from a coding path.
    public static func pathString(_ root: String, _ path: [CodingKey]) -> String {
        var s = root
        for key in path {
            if key is IndexKey, let i = key.intValue { s += "[\(i)]" } else { s += s.isEmpty ? key.stringValue : "." + key.stringValue }
        }
        return s
    }

    /// The field's path and the reason, as JSONError's `field` and `reason`.
    static func convert(_ error: DecodingError, root: String) -> (field: String, reason: String) {
        switch error {
        case .keyNotFound(let key, let ctx):
            return (pathString(root, ctx.codingPath + [key]), "required field missing")
        case .valueNotFound(_, let ctx), .typeMismatch(_, let ctx), .dataCorrupted(let ctx):
            return (pathString(root, ctx.codingPath), ctx.debugDescription)
        @unknown default:
            return (root, "\(error)")
        }
    }
}

/// One step of the path to a value: made once per container opened (never per primitive),
/// read only when an error needs the path.
final class PathNode {
    let parent: PathNode?
    let key: CodingKey
    init(_ parent: PathNode?, _ key: CodingKey) { self.parent = parent; self.key = key }

    static func path(_ node: PathNode?, _ key: CodingKey?) -> [CodingKey] {
        var keys: [CodingKey] = []
        if let key { keys.append(key) }
        var n = node
        while let m = n { keys.append(m.key); n = m.parent }
        return keys.reversed()
    }
}

/// A decoding failure whose message is written only if it reaches the caller (a type may
/// try one form and fall back to another with `try?`, and such failures cost no text).
struct DecodeFailure: Error {
    let root: String
    let parent: PathNode?
    let key: CodingKey?
    let reason: () -> String
    var path: String { JSONCoding.pathString(root, PathNode.path(parent, key)) }
    var message: String { "\(path): \(reason())" }
}

/// Lets `JSONValue.init(from:)` take its value from our decoder without a container dance.
protocol JSONValueDecoderProtocol { var jsonValue: JSONValue { get } }

/// A coding key for array positions; the path printer shows these as `[i]`.
struct IndexKey: CodingKey {
    let intValue: Int?
    var stringValue: String { "\(intValue ?? 0)" }
    init(_ i: Int) { intValue = i }
    init?(intValue: Int) { self.intValue = intValue }
    init?(stringValue: String) { return nil }
}

/// A string key (superDecoder's "super", dictionary keys).
struct NameKey: CodingKey {
    let stringValue: String
    var intValue: Int? { nil }
    init(_ s: String) { stringValue = s }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { return nil }
}

// MARK: - Describing expected types for messages

/// Marks `Array` so an error can say "an array of integers" before any element is looked at.
protocol ArrayTypeMarker { static var elementType: Any.Type { get } }
extension Array: ArrayTypeMarker { static var elementType: Any.Type { Element.self } }
protocol OptionalTypeMarker { static var wrappedType: Any.Type { get } }
extension Optional: OptionalTypeMarker { static var wrappedType: Any.Type { Wrapped.self } }
protocol StringKeyedDictionaryMarker {}
extension Dictionary: StringKeyedDictionaryMarker where Key == String {}

public enum TypeNames {
    /// "an integer" / "integers", "an array of strings", ...; nil when the type does not say
    /// (a struct may decode from any shape), so the container that fails reports instead.
    public static func describe(_ t: Any.Type, plural: Bool = false) -> String? {
        func word(_ one: String, _ many: String) -> String { plural ? many : one }
        if let o = t as? OptionalTypeMarker.Type { return describe(o.wrappedType, plural: plural) }
        if t is any FixedWidthInteger.Type { return word("an integer", "integers") }
        if t == Double.self || t == Float.self { return word("a number", "numbers") }
        if t == String.self || t == URL.self { return word("a string", "strings") }
        if t == Bool.self { return word("a boolean", "booleans") }
        if t == Data.self { return word("a base64 string", "base64 strings") }
        if let a = t as? ArrayTypeMarker.Type {
            guard let inner = describe(a.elementType, plural: true) else { return word("an array", "arrays") }
            return word("an array of \(inner)", "arrays of \(inner)")
        }
        if t is StringKeyedDictionaryMarker.Type { return word("an object", "objects") }
        return nil
    }

    /// "string", "null", or the number itself ("1.5") when a number had the wrong form.
    public static func got(_ v: JSONValue) -> String {
        switch v {
        case .number, .integer: return "number \(v)"
        default: return v.kindName
        }
    }
}
