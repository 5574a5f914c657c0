import Foundation
import RPC
#if canImport(Glibc)
import Glibc
#endif

/// stdout carries results only (one compact JSON line by default, tables with --pretty);
/// everything else (errors, progress, notes) goes to stderr.
enum Output {
    /// One compact JSON line, for jq and scripts.
    static func json(_ value: JSONValue) {
        var bytes = JSONText.serialize(value)
        bytes.append(0x0A)
        write(1, bytes)
    }

    /// JSON spread over lines with indentation, for a person.
    static func prettyJSON(_ value: JSONValue) {
        text(JSONText.string(value, pretty: true))
    }

    static func text(_ s: String) {
        write(1, Array((s.hasSuffix("\n") ? s : s + "\n").utf8))
    }

    static func error(_ s: String) {
        write(2, Array((s.hasSuffix("\n") ? s : s + "\n").utf8))
    }

    /// Writes all of `bytes`; a closed stdout (`advlens ... | head`) ends the program quietly.
    static func write(_ fd: Int32, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { raw in
            guard var p = raw.baseAddress else { return }
            var left = raw.count
            while left > 0 {
                let n = Glibc.write(fd, p, left)
                if n < 0 {
                    if errno == EINTR { continue }
                    if errno == EPIPE && fd == 1 { exit(0) }
                    return
                }
                p += n
                left -= n
            }
        }
    }

    static var stderrIsTerminal: Bool { isatty(2) == 1 }
}
