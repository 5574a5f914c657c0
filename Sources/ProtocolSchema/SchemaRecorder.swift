import Foundation
import Protocol
import RPC
import Settings

/// Reads a wire type's shape from its own `Decodable` conformance: the type decodes itself from
/// a recording decoder, which notes every field it asks for (required or optional) and the
/// field's type, and answers with placeholder values so decoding runs to the end. Nested
/// object types become shared definitions (`$defs`), so a type used in several requests is
/// described once. Types whose wire form is a choice of shapes (a string or a list, one of
/// several objects) cannot be read this way and take their schema from the notes.
final class SchemaRecorder {
    /// A property as the type asked for it.
    struct Field {
        var name: String
        var required: Bool
        var schema: JSONValue
    }

    let notes: SchemaNotes
    /// Schemas decided elsewhere (the attack registry), by type name; `#attackRules` holds the
    /// per-method rules added to every object that carries attack settings.
    let builtIn: [String: JSONValue]
    /// Nested object types by definition name, in the order first met.
    private(set) var definitions: [(name: String, schema: JSONValue)] = []
    private var defined: Set<String> = []
    /// Definitions made for params; a result using the same type gets its own `_out` one.
    private var definedForParams: Set<String> = []
    /// Whether optional fields also admit null (params: a null means absent; results never hold null).
    var nullableOptionals = true

    init(notes: SchemaNotes, builtIn: [String: JSONValue] = [:]) { self.notes = notes; self.builtIn = builtIn }

    /// The object types that carry an attack's settings (alone or beside a request's fields).
    static let attackCarriers: Set<String> = ["AttackConfig", "AttackMethod.Params"]

    /// "AttackMethod.Params" for Protocol.AttackMethod.Params.
    static func name(_ type: Any.Type) -> String {
        let full = String(reflecting: type)
        return full.split(separator: ".").dropFirst().joined(separator: ".")
    }

    /// The schema of a value of `type`: inline for primitives, arrays, maps and enums; a
    /// reference to a shared definition for object types.
    func schema(_ type: Any.Type) throws -> JSONValue {
        if let o = type as? OptionalMarker.Type { return try schema(o.wrapped) }
        if type == String.self || type == Data.self { return ["type": "string"] }
        if type == Bool.self { return ["type": "boolean"] }
        if type == Float.self || type == Double.self { return ["type": "number"] }
        if let int = type as? any FixedWidthInteger.Type {
            return int.isSigned ? ["type": "integer"] : ["type": "integer", "minimum": 0]
        }
        if type == JSONValue.self { return [:] }
        if let e = type as? any WireEnum.Type { return ["type": "string", "enum": .array(e.wireNames.map { .string($0) })] }
        if let a = type as? ArrayMarker.Type { return ["type": "array", "items": try schema(a.element)] }
        if let d = type as? StringMapMarker.Type { return ["type": "object", "additionalProperties": try schema(d.value)] }
        var name = Self.name(type)
        if let fixed = builtIn[name] { return fixed }   // a registry's names: inline
        if !nullableOptionals && definedForParams.contains(name) { name += "_out" }
        if !defined.contains(name) {
            defined.insert(name)
            if nullableOptionals { definedForParams.insert(name) }
            let index = definitions.count
            definitions.append((name, [:]))
            definitions[index].schema = try objectSchema(type, as: name)
        }
        return ["$ref": .string("common.json#/$defs/\(name)")]
    }

    /// The object schema of `type` itself (a method's params or result, or a definition).
    func objectSchema(_ type: Any.Type, as defName: String? = nil) throws -> JSONValue {
        let base = Self.name(type)
        let name = defName ?? base
        if let fixed = builtIn[base] { return fixed }
        if let replaced = notes.replacement(for: name) ?? notes.replacement(for: base) { return replaced }
        guard let decodable = type as? Decodable.Type else { throw SchemaError.notDecodable(name) }
        let fields: [Field]
        do { fields = try record(decodable) } catch let e as SchemaError { throw SchemaError.unsupported("\(name): \(e)") }
        var properties = JSONObject()
        var required: [JSONValue] = []
        for f in fields {
            var s = f.schema
            if !f.required && nullableOptionals { s = Self.nullable(s) }
            properties[f.name] = notes.apply(to: s, type: name, field: f.name)
            if f.required { required.append(.string(f.name)) }
        }
        var o: JSONObject = ["type": "object"]
        if !required.isEmpty { o["required"] = .array(required) }
        o["properties"] = .object(properties)
        o["additionalProperties"] = false
        var described = notes.apply(to: .object(o), type: name, field: nil).objectValue ?? o
        if Self.attackCarriers.contains(name) && nullableOptionals, case .array(let rules)? = builtIn["#attackRules"] {
            described["allOf"] = .array((described["allOf"]?.arrayValue ?? []) + rules)
        }
        return .object(described)
    }

    /// `s` or null.
    static func nullable(_ s: JSONValue) -> JSONValue {
        if case .object(var o) = s, case .string(let t)? = o["type"], o["$ref"] == nil, o["enum"] == nil {
            o["type"] = [.string(t), "null"]
            return .object(o)
        }
        if case .object(var o) = s, o["enum"] != nil, case .array(var values)? = o["enum"] {
            values.append(.null)
            o["enum"] = .array(values)
            if case .string(let t)? = o["type"] { o["type"] = [.string(t), "null"] }
            return .object(o)
        }
        return ["anyOf": [s, ["type": "null"]]]
    }

    /// Decodes `type` from the recording decoder and returns the fields it asked for.
    private func record(_ type: Decodable.Type) throws -> [Field] {
        let log = FieldLog()
        _ = try type.init(from: RecordingDecoder(recorder: self, log: log))
        return log.fields
    }

    /// A placeholder value of `type` for a required field, so the decoding type can go on.
    func placeholder<T: Decodable>(_ type: T.Type) throws -> T {
        if let e = T.self as? any WireEnum.Type { return e.firstCase as! T }
        if let known = Self.placeholders[Self.name(T.self)] as? T { return known }
        return try T(from: PlaceholderDecoder(recorder: self))
    }

    /// Placeholders of the types that cannot decode from nothing (a choice of shapes).
    static let placeholders: [String: Any] = [
        "InputSource": InputSource.path("-"),
        "Inputs": Inputs([]),
        "TargetChoice": TargetChoice.random,
        "ProgressToken": ProgressToken.number(0),
    ]
}

enum SchemaError: Error, CustomStringConvertible {
    case notDecodable(String)
    case unsupported(String)
    var description: String {
        switch self {
        case .notDecodable(let n): return "\(n) is not Decodable"
        case .unsupported(let s): return s
        }
    }
}

protocol OptionalMarker { static var wrapped: Any.Type { get } }
extension Optional: OptionalMarker { static var wrapped: Any.Type { Wrapped.self } }
protocol ArrayMarker { static var element: Any.Type { get } }
extension Array: ArrayMarker { static var element: Any.Type { Element.self } }
protocol StringMapMarker { static var value: Any.Type { get } }
extension Dictionary: StringMapMarker where Key == String { static var value: Any.Type { Value.self } }

extension WireEnum {
    static var wireNames: [String] { allCases.map(\.rawValue) }
    static var firstCase: Any { allCases.first! }
}

/// The fields one object asked for, in order, merged when it opens several containers.
final class FieldLog {
    var fields: [SchemaRecorder.Field] = []
    func note(_ name: String, required: Bool, schema: JSONValue) {
        if let i = fields.firstIndex(where: { $0.name == name }) {
            fields[i].required = fields[i].required || required
        } else {
            fields.append(.init(name: name, required: required, schema: schema))
        }
    }
}
