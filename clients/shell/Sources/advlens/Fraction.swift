import ArgumentParser

/// A number on the command line written as a decimal or a fraction: `--epsilon 8/255` as
/// papers give budgets (the image range is [0, 1]).
enum Fraction {
    /// Parses "0.03", "8/255", "-1" (range checks are the daemon's, which names the field).
    static func parse(_ text: String) throws -> Float {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        if parts.count == 1, let v = Float(text) { return v }
        if parts.count == 2, let n = Float(parts[0].trimmingCharacters(in: .whitespaces)),
           let d = Float(parts[1].trimmingCharacters(in: .whitespaces)), d != 0 {
            return n / d
        }
        throw ValidationError("\"\(text)\" is not a number or a fraction such as 8/255")
    }
}
