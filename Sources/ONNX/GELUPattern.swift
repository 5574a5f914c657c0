import Foundation

/// PyTorch's export of exact GELU before opset 20: x * 0.5 * (1 + erf(x / sqrt 2)), written as
/// Div (or Mul by 1/sqrt 2) → Erf → Add 1 → Mul x → Mul 0.5 (or with 0.5 * x first). Found
/// before the walk, its nodes are imported as one gelu node at the last of them.
enum GELUPattern {
    static func find(in g: NodeIndex) -> [Int: PatternRewrite] {
        let nodes = g.nodes
        var rewrites: [Int: PatternRewrite] = [:]
        for (e, erf) in nodes.enumerated() where erf.opType == "Erf" && erf.input.count == 1 {
            guard let d = g.producer[erf.input[0]], g.onlyUser(erf.input[0]) == e else { continue }
            let div = nodes[d]
            guard div.input.count == 2 else { continue }
            let x = div.input[0]
            guard (div.opType == "Div" && g.near(g.scalar(div.input[1]), sqrt(2))) || (div.opType == "Mul" && g.near(g.scalar(div.input[1]), 1 / sqrt(2))) else { continue }
            guard let a = g.onlyUser(erf.output[0]), nodes[a].opType == "Add", let one = g.other(nodes[a], erf.output[0]), g.near(g.scalar(one), 1),
                  let m1 = g.onlyUser(nodes[a].output[0]), nodes[m1].opType == "Mul", let factor = g.other(nodes[m1], nodes[a].output[0]) else { continue }
            var parts = [d, e, a, m1]
            let last: Int
            if factor == x {
                // (x * (1 + erf)) * 0.5
                guard let m2 = g.onlyUser(nodes[m1].output[0]), nodes[m2].opType == "Mul",
                      let half = g.other(nodes[m2], nodes[m1].output[0]), g.near(g.scalar(half), 0.5) else { continue }
                parts.append(m2)
                last = m2
            } else {
                // (x * 0.5) * (1 + erf)
                guard let h = g.producer[factor], nodes[h].opType == "Mul", g.onlyUser(factor) == m1,
                      let half = g.other(nodes[h], x), g.near(g.scalar(half), 0.5) else { continue }
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
