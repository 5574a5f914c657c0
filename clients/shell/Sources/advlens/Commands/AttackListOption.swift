import ArgumentParser
import Foundation
import RPC
import Settings

/// `evaluate`'s `--attacks` and `--epsilons`: a list of attacks, each a method with its own
/// parameters in parentheses under their wire names (`pgd(steps=40,stepSize=0.01),fgsm`), and
/// a list of budgets that take fractions as papers write them (`0.1,8/255`). The attacks
/// decode into the Settings module's `AttackConfig`, the one definition the daemon reads.
enum AttackListOption {
    /// `pgd(steps=40,stepSize=0.01),fgsm` → one config per attack.
    static func parse(_ text: String) throws -> [AttackConfig] {
        try split(text).enumerated().map { i, item in
            let (method, body) = try methodAndParameters(item, index: i)
            var object: JSONObject = ["method": .string(method)]
            for pair in try split(body) {
                let kv = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard kv.count == 2, !kv[0].isEmpty, !kv[1].isEmpty else {
                    throw ValidationError("--attacks[\(i)]: expected name=value inside the parentheses, got \"\(pair)\"")
                }
                object[kv[0]] = try value(kv[1], key: kv[0], index: i)
            }
            do {
                return try JSONValueCoding.decode(AttackConfig.self, from: .object(object), path: "--attacks[\(i)]")
            } catch let e as RPCError {
                throw ValidationError(e.message)
            }
        }
    }

    /// `0.1,0.2,8/255` → [0.1, 0.2, 0.0314]; fractions divided here, the daemon checks the range.
    static func epsilons(_ text: String) throws -> [Float] {
        let parts = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let values = parts.compactMap(number)
        guard !parts.isEmpty, values.count == parts.count else {
            throw ValidationError("--epsilons: expected numbers or fractions such as 0.1,0.2,8/255, got \"\(text)\"")
        }
        return values.map { Float($0) }
    }

    /// A number or a fraction a/b.
    static func number(_ text: String) -> Double? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        switch parts.count {
        case 1: return Double(parts[0])
        case 2:
            guard let a = Double(parts[0]), let b = Double(parts[1]), b != 0 else { return nil }
            return a / b
        default: return nil
        }
    }

    /// A parameter's value: true/false, a number (or fraction), a class list `[3,5,1]`, else a name.
    static func value(_ text: String, key: String, index: Int) throws -> JSONValue {
        if text == "true" || text == "false" { return .bool(text == "true") }
        if let x = Double(text) { return .number(x) }
        if text.contains("/"), let x = number(text) { return .number(x) }
        if text.hasPrefix("[") && text.hasSuffix("]") {
            let inner = text.dropFirst().dropLast().split(whereSeparator: { $0 == "," || $0 == " " })
            let ints = inner.compactMap { Int($0) }
            guard ints.count == inner.count else { throw ValidationError("--attacks[\(index)].\(key): expected classes such as [3,5,1], got \(text)") }
            return .array(ints.map { .number(Double($0)) })
        }
        return .string(text)
    }

    /// `pgd(a=1,b=2)` → ("pgd", "a=1,b=2"); `fgsm` → ("fgsm", "").
    static func methodAndParameters(_ item: String, index: Int) throws -> (String, String) {
        guard let open = item.firstIndex(of: "(") else { return (item, "") }
        guard item.hasSuffix(")") else { throw ValidationError("--attacks[\(index)]: \"\(item)\" opens a parenthesis it does not close") }
        let method = item[..<open].trimmingCharacters(in: .whitespaces)
        return (method, String(item[item.index(after: open)..<item.index(before: item.endIndex)]))
    }

    /// Splits on the commas outside parentheses and brackets.
    static func split(_ text: String) throws -> [String] {
        var parts: [String] = [], current = "", depth = 0
        for ch in text {
            switch ch {
            case "(", "[": depth += 1
            case ")", "]": depth -= 1
            default: break
            }
            if ch == "," && depth == 0 {
                parts.append(current)
                current = ""
            } else {
                current.append(ch)
            }
        }
        parts.append(current)
        let trimmed = parts.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard depth == 0 else { throw ValidationError("--attacks: unbalanced parentheses in \"\(text)\"") }
        return trimmed
    }
}
