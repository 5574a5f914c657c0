import Foundation
import RPC

/// What the types cannot say about the wire, written once per type and field in
/// protocol/schema-notes.json: prose (descriptions), bounds (minimum, pattern, ...), rules
/// across fields (allOf, oneOf, if/then), the schemas of types whose wire form is a choice of
/// shapes (`replace`), and shared definitions with no Swift type of their own (`definitions`:
/// a name's pattern, the progress notification's params). The structure — which fields, their
/// types, which are required — always comes from the Swift types.
///
/// Layout: {"definitions": {Name: schema}, "types": {TypeName: {"replace": schema,
/// "fields": {field: keywords}, ...type-level keywords}}, "files": {path: root keywords}}.
/// A type used in results as well as in params is described twice (`Name` and `Name_out`),
/// since params carry rules (a parameter a method does not take) that its echo does not. A field's keywords merge into the
/// generated schema (objects merge recursively, e.g. `"items": {"minimum": 0}`); `"schema"`
/// replaces the generated schema of that field outright (e.g. a `$ref` to `Name`).
struct SchemaNotes {
    let definitions: JSONObject
    let types: JSONObject
    /// Keywords of one method file's root only (a rule that holds for `attack` but not where
    /// the same type sits inside another request).
    let files: JSONObject

    init(_ value: JSONValue) {
        definitions = value["definitions"]?.objectValue ?? JSONObject()
        types = value["types"]?.objectValue ?? JSONObject()
        files = value["files"]?.objectValue ?? JSONObject()
    }

    /// `schema` with the root-only keywords of the file at `path`.
    func applyFile(to schema: JSONValue, path: String) -> JSONValue {
        guard let keywords = files[path] else { return schema }
        return Self.merge(schema, keywords)
    }

    init(contentsOf url: URL) throws {
        self.init(try JSONText.parse(Data(contentsOf: url)))
    }

    func replacement(for type: String) -> JSONValue? { types[type]?["replace"] }

    /// `schema` with the notes of `type` (field nil: the type's own keywords) merged in.
    func apply(to schema: JSONValue, type: String, field: String?) -> JSONValue {
        guard let note = types[type] else { return schema }
        if let field {
            guard let keywords = note["fields"]?[field]?.objectValue else { return schema }
            var base = schema
            if let whole = keywords["schema"] {
                // Keep the null the generated schema allowed (an optional param).
                base = Self.allowsNull(schema) ? SchemaRecorder.nullable(whole) : whole
            }
            var rest = keywords
            rest["schema"] = nil
            return Self.merge(base, .object(rest))
        }
        guard var keywords = note.objectValue else { return schema }
        keywords["fields"] = nil
        keywords["replace"] = nil
        return Self.merge(schema, .object(keywords))
    }

    static func allowsNull(_ s: JSONValue) -> Bool {
        if case .array(let types)? = s["type"], types.contains(.null) { return true }
        if case .array(let options)? = s["anyOf"], options.contains(["type": "null"]) { return true }
        return false
    }

    /// Objects merge key by key (recursively); `allOf` rules add up; anything else in `extra` wins. A nullable
    /// `anyOf` wrapper passes keywords meant for the value to its non-null branch.
    static func merge(_ base: JSONValue, _ extra: JSONValue) -> JSONValue {
        guard case .object(var b) = base, case .object(let e) = extra else { return extra }
        for (k, v) in e {
            if let existing = b[k], case .object = existing, case .object = v {
                b[k] = merge(existing, v)
            } else if k == "allOf", case .array(let mine)? = b[k], case .array(let theirs) = v {
                b[k] = .array(mine + theirs)   // rules add up
            } else {
                b[k] = v
            }
        }
        return .object(b)
    }
}
