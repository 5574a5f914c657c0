/// Spec node names from what exporters write: state_dict keys of initializers, and the scope
/// paths PyTorch's exporter gives nodes (`/layer1/layer1.0/conv1/Conv`).
enum NodeNames {
    /// The parameter suffixes of PyTorch modules whose prefix is the module path.
    static let parameterSuffixes: Set<String> = ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]

    /// `features.0` for `features.0.weight`; nil when the name is not `<module path>.<suffix>`.
    static func modulePath(ofParameter name: String) -> String? {
        guard let dot = name.lastIndex(of: "."), parameterSuffixes.contains(String(name[name.index(after: dot)...])) else { return nil }
        let prefix = String(name[..<dot])
        return isModulePath(prefix) ? prefix : nil
    }

    /// A PyTorch module path: dot-separated identifiers or indices (`layer1.0.conv1`, `class_token`,
    /// `0` in a bare nn.Sequential).
    static func isModulePath(_ s: String) -> Bool {
        guard !s.isEmpty, s != "input" else { return false }
        return s.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { part in
            !part.isEmpty && part.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
        }
    }

    /// Names for a node from its ONNX name, best first: scope paths as module paths (a scope that
    /// extends the one before replaces it: `/layer1/layer1.0/relu/Relu` → `layer1.0.relu`,
    /// `/features/features.3/conv/conv.0/conv.0.0/Conv` → `features.3.conv.0.0`), then the path with
    /// the op (`layer1.0.add` when `layer1.0` is taken); other names sanitized; an empty name →
    /// the op type.
    static func candidates(onnxName name: String, opType: String) -> [String] {
        let op = opType.lowercased()
        guard name.contains("/") else { return [sanitized(name, fallback: op)] }
        let parts = name.split(separator: "/").map(String.init)
        var segments: [String] = []
        for part in parts.dropLast() {
            if let last = segments.last, part.hasPrefix(last + ".") { segments[segments.count - 1] = part } else { segments.append(part) }
        }
        let last = sanitized((parts.last ?? op).lowercased(), fallback: op)
        guard !segments.isEmpty else { return [last] }
        let scope = sanitized(segments.joined(separator: "."), fallback: op)
        return [scope, "\(scope).\(last)"]
    }

    /// Letters, digits, `_` and `.` kept, anything else `_`; no leading or doubled dots.
    static func sanitized(_ s: String, fallback: String) -> String {
        var out = ""
        for ch in s.unicodeScalars {
            let ok = ("a"..."z").contains(ch) || ("A"..."Z").contains(ch) || ("0"..."9").contains(ch) || ch == "_" || ch == "."
            let c: Character = ok ? Character(ch) : "_"
            if c == ".", out.isEmpty || out.hasSuffix(".") { continue }
            out.append(c)
        }
        while out.hasSuffix(".") { out.removeLast() }
        if out.isEmpty || out == "input" { return fallback.isEmpty ? "node" : fallback }
        return out
    }
}
