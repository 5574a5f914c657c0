import RPC

/// Renders `$/progress` begin / report / end on stderr, never on stdout.
///
/// On a terminal: one line redrawn in place (`predict [########------------]  40%  2048/5000`)
/// and erased at the end. Elsewhere (with --progress): one plain line per update, so a log
/// file stays readable.
final class ProgressDisplay {
    let terminal: Bool
    private var title = ""
    private var active = false
    private var lastLine = ""
    static let barWidth = 24

    init(terminal: Bool) { self.terminal = terminal }

    /// `value` is the `value` member of a `$/progress` notification.
    func handle(_ value: JSONValue) {
        switch value["kind"]?.stringValue {
        case "begin":
            title = value["title"]?.stringValue ?? "working"
            active = true
            draw(percentage: value["percentage"]?.intValue, message: value["message"]?.stringValue)
        case "report":
            guard active else { return }
            draw(percentage: value["percentage"]?.intValue, message: value["message"]?.stringValue)
        case "end":
            guard active else { return }
            if !terminal { draw(percentage: 100, message: value["message"]?.stringValue ?? "done") }
            finish()
        default:
            break
        }
    }

    /// Erases the bar (before the result or an error is printed).
    func finish() {
        guard active else { return }
        active = false
        if terminal { Output.write(2, Array("\r\u{1B}[K".utf8)) }
    }

    /// The text of one update (without the terminal's control codes).
    static func line(title: String, percentage: Int?, message: String?) -> String {
        var s = title
        if let p = percentage {
            let clamped = max(0, min(100, p))
            let filled = clamped * barWidth / 100
            s += " [" + String(repeating: "#", count: filled) + String(repeating: "-", count: barWidth - filled) + "] "
            s += String(repeating: " ", count: 3 - String(clamped).count) + "\(clamped)%"
        }
        if let message, !message.isEmpty { s += "  " + message }
        return s
    }

    private func draw(percentage: Int?, message: String?) {
        let text = Self.line(title: title, percentage: percentage, message: message)
        guard text != lastLine else { return }
        lastLine = text
        if terminal {
            Output.write(2, Array(("\r\u{1B}[K" + text).utf8))
        } else {
            Output.write(2, Array(("advlens: " + text + "\n").utf8))
        }
    }
}
