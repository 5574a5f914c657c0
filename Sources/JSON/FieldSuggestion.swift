/// The keys of one JSON object that the decoding type asked for. A reference, so every
/// container opened on the object (a type that decodes its fields in two groups, e.g. an
/// attack's settings beside the request's own fields) adds to the same record; `opened` tells
/// whether the type read the object as keyed at all (one that hands the value on whole to
/// another type leaves the check to that type).
///
/// Cheap on the way through: the members found are bits by position, and asked keys that the
/// object lacks are kept only as names for the "did you mean" of an error.
final class AskedKeys {
    var found: UInt64 = 0
    var foundBeyond64: Set<Int> = []
    var missed: [String] = []
    var opened = false

    @inline(__always) func mark(_ position: Int) {
        if position < 64 { found |= 1 << UInt64(position) } else { foundBeyond64.insert(position) }
    }

    @inline(__always) func isFound(_ position: Int) -> Bool {
        position < 64 ? found & (1 << UInt64(position)) != 0 : foundBeyond64.contains(position)
    }

    /// The position of the first member not asked for, if any.
    func firstUnknown(in object: JSONObject, top: Bool) -> Int? {
        let n = object.count
        if n <= 64, !top {
            let all: UInt64 = n == 64 ? ~0 : (1 << UInt64(n)) - 1
            if found & all == all { return nil }
        }
        for i in 0..<n where !isFound(i) {
            // LSP's work-done token may ride on any request's params: the connection reads it.
            if top && object.key(at: i) == "workDoneToken" { continue }
            return i
        }
        return nil
    }

    /// Every key asked for (found or not), for suggestions.
    func names(in object: JSONObject, top: Bool) -> Set<String> {
        var s = Set(missed)
        for i in 0..<object.count where isFound(i) { s.insert(object.key(at: i)) }
        if top { s.insert("workDoneToken") }
        return s
    }
}

/// "did you mean" for an unknown field: the known field it most resembles, if any is close.
///
/// Users arrive with other libraries' names (torchattacks' `eps`, `alpha`; snake_case), so
/// common aliases are tried first, then the same letters ignoring case and underscores, then
/// a small edit distance.
public enum FieldSuggestion {
    /// Other tools' names for our fields, tried only when the target is a known field there.
    static let aliases: [String: [String]] = [
        "eps": ["epsilon"], "alpha": ["stepSize"], "step_size": ["stepSize"], "lr": ["learningRate"],
        "iters": ["steps"], "iterations": ["steps"], "nb_iter": ["steps"], "max_iter": ["steps"], "num_steps": ["steps"],
        "random_start": ["randomStart"], "rand_init": ["randomStart"], "n_restarts": ["restarts"],
        "confidence": ["kappa"], "binary_search_steps": ["binarySearchSteps"], "batch_size": ["batchSize"],
        "weight_decay": ["weightDecay"], "target_class": ["target"], "targets": ["target"], "label": ["labels"],
        "layers": ["layer"], "layer": ["layers"], "unit": ["units"], "index": ["indices"], "images": ["inputs"], "input": ["inputs"],
        "arch": ["architecture"], "path": ["spec", "weights"], "norm_type": ["norm"], "ord": ["norm"],
    ]

    public static func nearest(to unknown: String, among known: Set<String>) -> String? {
        if let candidates = aliases[unknown], let hit = candidates.first(where: known.contains) { return hit }
        let folded = fold(unknown)
        if let same = known.sorted().first(where: { fold($0) == folded }) { return same }
        let limit = max(1, min(3, unknown.count / 3))
        let scored = known.sorted().map { ($0, distance(fold($0), folded)) }.filter { $0.1 <= limit }
        return scored.min(by: { $0.1 < $1.1 })?.0
    }

    /// Lower case without underscores or dashes: `random_start` and `randomStart` fold alike.
    static func fold(_ s: String) -> String { String(s.lowercased().filter { $0 != "_" && $0 != "-" }) }

    /// Edit distance counting a swap of neighbours as one edit (`stpes` is one from `steps`);
    /// field names are short, so the full table is cheap.
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1) }
            }
        }
        return d[a.count][b.count]
    }
}
