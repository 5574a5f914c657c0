import Foundation

/// Codable straight to and from `JSONValue`, with errors a client can act on.
///
/// Handlers receive params already parsed, so decoding walks the `JSONValue` tree with a real
/// `Decoder` (no text round trip through JSONDecoder). Every failure becomes
/// `RPCError.invalidParams` naming the field path and what was expected, e.g.
/// `params.inputs[2].indices: expected an array of integers, got string` or
/// `params.model: required field missing`. Integer fields accept only numbers that are exact
/// integers in the field's range. Unknown keys are ignored. `Data` travels as base64 and `URL`
/// as a string, as with Foundation's JSONEncoder; `JSONValue` fields pass through untouched.
public enum JSONValueCoding {
    public static func decode<T: Decodable>(_ type: T.Type, from value: JSONValue, path: String = "params") throws -> T {
        do {
            return try ValueDecoder(value: value, codingPath: [], root: path).unbox(type, value, [])
        } catch let error as RPCError {
            throw error
        } catch let error as DecodingError {
            // Thrown by a type's own init(from:) (e.g. a String enum with an unknown raw value).
            throw convert(error, root: path)
        }
    }

    public static func encode<T: Encodable>(_ value: T) throws -> JSONValue {
        try ValueEncoder.encodeTop(value)
    }

    /// "params.inputs[2].indices" from a coding path.
    static func pathString(_ root: String, _ path: [CodingKey]) -> String {
        var s = root
        for key in path {
            if key is IndexKey, let i = key.intValue { s += "[\(i)]" } else { s += s.isEmpty ? key.stringValue : "." + key.stringValue }
        }
        return s
    }

    static func convert(_ error: DecodingError, root: String) -> RPCError {
        switch error {
        case .keyNotFound(let key, let ctx):
            return .invalidParams("\(pathString(root, ctx.codingPath + [key])): required field missing")
        case .valueNotFound(_, let ctx), .typeMismatch(_, let ctx), .dataCorrupted(let ctx):
            return .invalidParams("\(pathString(root, ctx.codingPath)): \(ctx.debugDescription)")
        @unknown default:
            return .invalidParams("\(root): \(error)")
        }
    }
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

enum TypeNames {
    /// "an integer" / "integers", "an array of strings", ...; nil when the type does not say
    /// (a struct may decode from any shape), so the container that fails reports instead.
    static func describe(_ t: Any.Type, plural: Bool = false) -> String? {
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
    static func got(_ v: JSONValue) -> String {
        if case .number = v { return "number \(v)" }
        return v.kindName
    }
}
