import Attacks
import Foundation
import Protocol
import RPC
import Server
import Settings

/// protocol/schema/, generated from the Swift types of the Protocol module (their structure),
/// the attack registry (method names and which parameters each takes) and
/// protocol/schema-notes.json (prose, bounds, cross-field rules). `make schemas` writes the
/// files; ProtocolSchemaTests fails when the committed files differ from what this returns.
public enum ProtocolSchemas {
    /// One method's params and result types.
    struct Method {
        let name: String
        let params: Any.Type
        let result: Any.Type
        init<R: RequestType>(_ r: R.Type) { name = R.method; params = R.Params.self; result = R.Result.self }
    }

    static let methods: [Method] = [
        Method(Initialize.self), Method(Shutdown.self),
        Method(ModelCreate.self), Method(ModelLoad.self), Method(ModelSave.self), Method(ModelList.self), Method(ModelInfo.self),
        Method(ModelUnload.self),
        Method(DatasetLoad.self), Method(DatasetList.self), Method(DatasetInfo.self),
        Method(Predict.self), Method(AttackMethod.self), Method(HandleList.self), Method(HandleDrop.self),
        Method(HandleCreate.self),
        Method(Probe.self), Method(ExplainPrediction.self), Method(CacheStats.self), Method(CacheClear.self),
        Method(TrainStep.self), Method(Evaluate.self), Method(EvaluateChecks.self),
    ]

    /// Every file: its path under protocol/schema/ and its text.
    public static func files(notes notesURL: URL) throws -> [(path: String, text: String)] {
        let notes = try SchemaNotes(contentsOf: notesURL)
        let recorder = SchemaRecorder(notes: notes, builtIn: builtIn())
        var out: [(String, String)] = []
        for kind in ["params", "result"] {
            recorder.nullableOptionals = kind == "params"
            for m in methods {
                let path = "\(m.name).\(kind).json"
                let generated = try recorder.objectSchema(kind == "params" ? m.params : m.result)
                var root = notes.applyFile(to: generated, path: path).objectValue ?? JSONObject()
                root = JSONObject([("$schema", "https://json-schema.org/draft/2020-12/schema"), ("title", .string("\(m.name) \(kind)"))]
                                  + root.map { ($0.key, $0.value) }.filter { $0.0 != "title" })
                // Files in a subfolder (model/create.params.json) reach common.json one level up.
                let body = text(.object(root))
                out.append((path, path.contains("/") ? body.replacingOccurrences(of: "\"common.json#", with: "\"../common.json#") : body))
            }
        }
        var defs = notes.definitions
        for (name, schema) in recorder.definitions { defs[name] = schema }
        defs["Norm"] = ["description": "The norm that bounds a perturbation.", "type": "string", "enum": .array(Norm.wireNames.map { .string($0) })]
        defs["AttackMethod"] = ["description": "An attack method: one of the attack registry's names (capabilities.attacks).", "type": "string",
                                "enum": .array(AttackRegistry.summaries.map { .string($0.name) })]
        let common: JSONValue = [
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "AdvLens protocol: shared definitions",
            "description": "Generated from the Swift types by `make schemas` (protocol/schema-notes.json holds the prose and bounds): do not edit. Definitions that the per-method schemas reference with \"$ref\": \"common.json#/$defs/...\". In params, optional fields may also be null, which means the same as absent; unknown fields are refused. Results never contain null: an optional result field is either present or absent.",
            "$defs": .object(defs),
        ]
        out.append(("common.json", text(common)))
        // Every shared definition a file names must exist (a note may name one by hand).
        let marker = "common.json#/$defs/"
        var missing: Set<String> = []
        for (_, body) in out {
            var rest = Substring(body)
            while let r = rest.range(of: marker) {
                let name = rest[r.upperBound...].prefix { $0.isLetter || $0.isNumber || $0 == "." || $0 == "_" }
                if !name.isEmpty, name != ".", !name.hasPrefix("."), defs[String(name)] == nil { missing.insert(String(name)) }
                rest = rest[r.upperBound...]
            }
        }
        if !missing.isEmpty { throw SchemaError.unsupported("no definition for \(missing.sorted().joined(separator: ", "))") }
        return out.sorted { $0.0 < $1.0 }
    }

    /// Each method file's root type ("predict.params.json" -> "Predict.Params"), for tools.
    public static var rootTypes: [(path: String, type: String)] {
        methods.flatMap { m in [("\(m.name).params.json", SchemaRecorder.name(m.params)), ("\(m.name).result.json", SchemaRecorder.name(m.result))] }
    }

    static func text(_ value: JSONValue) -> String { JSONText.string(value, pretty: true) + "\n" }

    /// Schemas the registry decides: attack method names, and per method which parameters
    /// may be given (a rule each, so a schema refuses what the daemon refuses).
    static func builtIn() -> [String: JSONValue] {
        let methods = AttackRegistry.summaries
        return [
            "AttackConfig.MethodName": ["$ref": "common.json#/$defs/AttackMethod"],
            "Probe.Kind": ["type": "string", "enum": .array(AdvLensServer.probeKindNames.map { .string($0) })],
            "ExplainPrediction.Method": ["type": "string", "enum": .array(AdvLensServer.explainerNames.map { .string($0) })],
            "#attackRules": .array(methods.map(rule) + [[
                "description": "A target needs a targeted attack: with targeted false, leave target out.",
                "if": ["required": ["targeted"], "properties": ["targeted": ["const": false]]],
                "then": ["properties": ["target": ["type": "null"]]],
            ]]),
        ]
    }

    static func rule(_ m: AttackMethodSummary) -> JSONValue {
        var then = JSONObject()
        let always: Set<AttackConfig.Field> = [.method, .seed, .earlyStop, .norm, .targeted]
        for f in AttackConfig.Field.allCases where !always.contains(f) && !m.parameters.contains(f) {
            then[f.rawValue] = ["type": "null"]
        }
        then["norm"] = ["enum": .array(m.norms.map { .string($0.rawValue) } + [.null])]
        switch m.targeting {
        case .never: then["targeted"] = ["enum": [false, .null]]
        case .always: then["targeted"] = ["enum": [true, .null]]
        case .optional: break
        }
        return [
            "description": .string("\(m.name) takes \(m.parameters.map(\.rawValue).joined(separator: ", ")), seed and earlyStop."),
            "if": ["required": ["method"], "properties": ["method": ["const": .string(m.name)]]],
            "then": ["properties": .object(then)],
        ]
    }
}
