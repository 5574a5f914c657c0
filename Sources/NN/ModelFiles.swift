import Files
import Foundation
import JSON
import SafeTensors
import TensorEngine

/// Reading and writing a model as spec JSON + safetensors weights (PyTorch state_dict names
/// and layouts), and the weights fingerprint that keys caches.
extension Model {
    /// Decodes a spec strictly, turning JSON errors into messages that name the field: a key
    /// no spec type reads (`nodes[3].input`, `layers[0].kernal_size`) is refused with the
    /// nearest known field, at every level, so a typo cannot silently fall back to a default;
    /// a repeated key is refused too.
    public static func decodeSpec(_ data: Data) throws -> ModelSpec {
        let value: JSONValue
        do {
            value = try JSONText.parse([UInt8](data), options: .init(maxBytes: .max, exactIntegers: true, rejectDuplicateKeys: true))
        } catch let error as JSONError {
            throw ModelError.invalidSpec(path: "(document)", message: "not valid JSON: \(error.message)")
        }
        do {
            return try JSONCoding.decode(ModelSpec.self, from: value, path: "")
        } catch let error as JSONError {
            // field "nodes[3].input", reason "unknown field; ..." (the path is empty for the document itself).
            guard let field = error.field, let reason = error.reason else { throw ModelError.invalidSpec(path: "(document)", message: error.message) }
            throw ModelError.invalidSpec(path: field.isEmpty ? "(document)" : field, message: reason)
        }
    }

    /// Builds a model from a spec and a weights file. Loading is strict, as PyTorch's
    /// load_state_dict(strict=True): every key must be present with its shape, and no other.
    public static func load(spec: ModelSpec, weights: SafeTensorsFile) throws -> Model {
        // A spec the file cannot fill fails the strict load anyway; up to `preciseErrorValues`
        // it is built, so the error names the missing key; beyond, nothing is allocated.
        let held = weights.tensors.values.reduce(0) { $0 + $1.count }
        let needed = spec.valueCount
        guard needed <= max(held, preciseErrorValues) else { throw ModelError.weightsTooSmall(needed: needed, held: held) }
        let model = try Model(spec: spec)
        try model.loadWeights(weights)
        return model
    }

    /// Values (64 MB) up to which a spec is built even when its weights file holds fewer, so
    /// the load's error names the key at fault.
    static let preciseErrorValues = 1 << 24

    /// The largest spec JSON read (a spec is a few kilobytes).
    public static let maxSpecBytes = 16 << 20

    /// Loads `spec.json`-style and `.safetensors` files: regular files only, within `limits`
    /// (the spec within `maxSpecBytes` too).
    public static func load(specAt specURL: URL, weightsAt weightsURL: URL, limits: ReadLimits = .current) throws -> Model {
        let specData: Data
        var specLimits = limits
        specLimits.maxBytes = min(limits.maxBytes, maxSpecBytes)
        do { specData = Data(try ClientFile.read(specURL.path, limits: specLimits)) } catch let e as FileReadError {
            if case .cancelled = e { throw e }
            throw ModelError.io("cannot read model spec \(e.description)")
        }
        let weights: SafeTensorsFile
        do { weights = try SafeTensorsFile.read(contentsOf: weightsURL, limits: limits) } catch let e as SafeTensorsError {
            throw ModelError.io("weights \(weightsURL.path): \(e.description)")
        } catch let e as FileReadError {
            if case .cancelled = e { throw e }
            throw ModelError.io("weights \(e.description)")
        }
        return try load(spec: decodeSpec(specData), weights: weights)
    }

    /// Replaces every parameter and buffer with the file's values (all checked before any is set).
    public func loadWeights(_ file: SafeTensorsFile) throws {
        let expected = parameters + buffers
        let known = Set(expected.map(\.name))
        if let extra = file.names.first(where: { !known.contains($0) }) { throw ModelError.unexpectedWeight(key: extra) }
        var values: [Tensor] = []
        for p in expected {
            guard let t = file[p.name] else { throw ModelError.missingWeight(key: p.name) }
            // PyTorch stores a scalar buffer as shape []; accept [1] too.
            let sameShape = t.shape == p.value.shape || (p.value.shape.isEmpty && t.shape == [1])
            guard sameShape else { throw ModelError.weightShape(key: p.name, expected: p.value.shape, got: t.shape) }
            guard t.floats.allSatisfy(\.isFinite) else {
                throw ModelError.io("weight \"\(p.name)\" holds NaN or infinite values")
            }
            values.append(Tensor(shape: p.value.shape, data: t.floats))
        }
        for (p, v) in zip(expected, values) { p.value = v }
    }

    /// The weights as a safetensors file (F32; num_batches_tracked as I64, as PyTorch writes it).
    public func weightsFile() throws -> Data {
        let all = parameters + buffers
        return try SafeTensorsFile.encode(
            tensors: all.map { (name: $0.name, shape: $0.value.shape, floats: $0.value.data) },
            metadata: ["format": "pt", "advlens.model": spec.name],
            dtypes: Dictionary(uniqueKeysWithValues: all.filter { $0.storageType != "F32" }.map { ($0.name, $0.storageType) }))
    }

    /// The spec as pretty JSON.
    public func specJSON() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(spec)
    }

    /// Writes spec and weights (and `extra` files, such as a training state) as nearly one
    /// unit as a file system allows: every file goes to a temporary beside its target and is
    /// fsynced first; only then are they renamed into place, back to back (weights, spec,
    /// extras), and the `remove` paths (a stale state) deleted. A process killed while writing
    /// leaves the old files whole (its temporaries are removed by the next write there).
    public func save(specTo specURL: URL, weightsTo weightsURL: URL,
                     extra: [(data: Data, url: URL)] = [], remove: [URL] = []) throws {
        let files = [(try weightsFile(), weightsURL), (try specJSON(), specURL)] + extra.map { ($0.data, $0.url) }
        var prepared: [AtomicFile.Prepared] = []
        do {
            for (data, url) in files {
                prepared.append(try data.withUnsafeBytes { try AtomicFile.prepare($0, for: url.path) })
            }
            for p in prepared { try AtomicFile.commit(p) }
        } catch let e as AtomicFile.WriteError {
            prepared.forEach { $0.discard() }
            throw ModelError.io(e.description)
        }
        for url in remove where FileManager.default.fileExists(atPath: url.path) {
            do { try FileManager.default.removeItem(at: url) } catch {
                throw ModelError.io("cannot remove \(url.path): \(error.localizedDescription)")
            }
        }
    }

    /// TensorEngine's `Fingerprint` (64-bit FNV-1a style) over every parameter and buffer name
    /// and value bits, as 16 hex digits. It identifies weights (cache keys change whenever a training step changes
    /// them); it is not a cryptographic digest.
    public var fingerprint: String {
        var f = Fingerprint()
        for p in parameters + buffers {
            f.add(p.name)
            p.addValue(to: &f)
        }
        return f.hex
    }
}
