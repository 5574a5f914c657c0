import Foundation

/// PyTorch's export of exact GELU before opset 20: x * 0.5 * (1 + erf(x / sqrt 2)), written as
/// Div (or Mul by 1/sqrt 2) → Erf → Add 1 → Mul x → Mul 0.5 (or with 0.5 * x first). Found
/// before the walk, its nodes are imported as one gelu node at the last of them.
enum GELUPattern {
    enum Rewrite: Equatable {
        case skip
        /// Import a gelu of this ONNX value here.
        case gelu(String)
    }

    static func find(in nodes: [Onnx_NodeProto], constants: [String: ImportedValue]) -> [Int: Rewrite] {
        var producer: [String: Int] = [:], consumers: [String: [Int]] = [:]
        for (i, n) in nodes.enumerated() {
            for o in n.output { producer[o] = i }
            for v in n.input where !v.isEmpty { consumers[v, default: []].append(i) }
        }
        // Scalar constants from initializers and Constant nodes.
        func scalar(_ name: String) -> Float? {
            if case let .constant(k, _)? = constants[name], k.count == 1, !k.isInteger { return k.floats[0] }
            if let p = producer[name], nodes[p].opType == "Constant",
               let t = nodes[p].attribute.first(where: { $0.name == "value" })?.t,
               let k = try? ConstantTensor(t, name: name), k.count == 1 { return k.floats[0] }
            return nil
        }
        func near(_ v: Float?, _ target: Float) -> Bool { v.map { abs($0 - target) < 1e-4 * max(1, abs(target)) } ?? false }
        /// The other input of a binary node, given one of them.
        func other(_ n: Onnx_NodeProto, _ known: String) -> String? {
            guard n.input.count == 2 else { return nil }
            if n.input[0] == known { return n.input[1] }
            if n.input[1] == known { return n.input[0] }
            return nil
        }
        func onlyUser(_ value: String) -> Int? {
            guard let users = consumers[value], users.count == 1 else { return nil }
            return users[0]
        }

        var rewrites: [Int: Rewrite] = [:]
        for (e, erf) in nodes.enumerated() where erf.opType == "Erf" && erf.input.count == 1 {
            guard let d = producer[erf.input[0]], onlyUser(erf.input[0]) == e else { continue }
            let div = nodes[d]
            guard div.input.count == 2 else { continue }
            let x = div.input[0]
            guard (div.opType == "Div" && near(scalar(div.input[1]), sqrt(2))) || (div.opType == "Mul" && near(scalar(div.input[1]), 1 / sqrt(2))) else { continue }
            guard let a = onlyUser(erf.output[0]), nodes[a].opType == "Add", let one = other(nodes[a], erf.output[0]), near(scalar(one), 1),
                  let m1 = onlyUser(nodes[a].output[0]), nodes[m1].opType == "Mul", let factor = other(nodes[m1], nodes[a].output[0]) else { continue }
            var parts = [d, e, a, m1]
            let last: Int
            if factor == x {
                // (x * (1 + erf)) * 0.5
                guard let m2 = onlyUser(nodes[m1].output[0]), nodes[m2].opType == "Mul",
                      let half = other(nodes[m2], nodes[m1].output[0]), near(scalar(half), 0.5) else { continue }
                parts.append(m2)
                last = m2
            } else {
                // (x * 0.5) * (1 + erf)
                guard let h = producer[factor], nodes[h].opType == "Mul", onlyUser(factor) == m1,
                      let half = other(nodes[h], x), near(scalar(half), 0.5) else { continue }
                parts.append(h)
                last = m1
            }
            guard parts.max() == last else { continue }
            for p in parts where p != last { rewrites[p] = .skip }
            rewrites[last] = .gelu(x)
        }
        return rewrites
    }
}
