/// Client text (names, paths, unknown values) as error messages quote it: at most
/// `maxEchoBytes` bytes, cut at a character boundary and marked with "…", so a 1 MB name
/// gives a short error rather than a 1 MB one. Every message that echoes client input goes
/// through `echo` (or `quoted`).
public enum ClientText {
    public static let maxEchoBytes = 200

    /// `text`, cut to at most `maxEchoBytes` UTF-8 bytes plus "…" when longer.
    public static func echo(_ text: String) -> String {
        guard text.utf8.count > maxEchoBytes else { return text }
        var out = ""
        var bytes = 0
        for ch in text {
            let n = ch.utf8.count
            if bytes + n > maxEchoBytes { break }
            out.append(ch)
            bytes += n
        }
        return out + "…"
    }

    /// `echo(text)` between double quotes.
    public static func quoted(_ text: String) -> String { "\"" + echo(text) + "\"" }
}
