import Foundation
import RPC

/// A handler with one method per behaviour the connection tests need.
///
/// - `echo` (concurrent): returns its params.  `empty` (immediate): returns {}.
/// - `sleep {ms, key?, write?}`: runs under `.read(key)`/`.write(key)`, polls its token every
///   millisecond, records [start, end] in `spans`, and on cancel throws `.cancelled(partial:)`.
///   `waitUntilStarted(id)` returns once it runs (the explicit signal tests wait for, not a sleep).
/// - `stubborn {ms}`: ignores cancellation and returns normally.
/// - `progress {steps, ms}`: begin, a report per step, end.
/// - `fail {kind}`: throws invalidParams, a non-RPC error, or notFound.
/// - `log`: sends window/logMessage.  `typed {...}`: decodes a Codable struct.
/// - anything else: method not found (from `access`).
final class ToyHandler: RPCHandler, @unchecked Sendable {
    private let lock = NSLock()
    private(set) var notifications: [String] = []
    private var spansByID: [Int: (start: Double, end: Double)] = [:]
    private var startedIDs: Set<Int> = []

    var spans: [Int: (start: Double, end: Double)] { lock.lock(); defer { lock.unlock() }; return spansByID }

    /// Waits until the `sleep` or `stubborn` request `id` has started; false only after
    /// `timeout`, a guard against a hang far above any machine's time.
    func waitUntilStarted(_ id: Int, timeout: Double = 600) -> Bool {
        let deadline = now() + timeout
        while now() < deadline {
            lock.lock(); let started = startedIDs.contains(id); lock.unlock()
            if started { return true }
            usleep(1000)
        }
        return false
    }

    var notificationLog: [String] { lock.lock(); defer { lock.unlock() }; return notifications }

    func access(for method: String, params: JSONValue?) throws -> Access {
        switch method {
        case "initialize", "shutdown", "empty": return .immediate
        case "echo", "stubborn", "progress", "fail", "log", "typed": return .concurrent
        case "sleep":
            guard let key = params?["key"]?.stringValue else { return .concurrent }
            return params?["write"]?.boolValue == true ? .write(key) : .read(key)
        default: throw RPCError.methodNotFound(method)
        }
    }

    struct Typed: Codable { var model: String; var inputs: [Input]; struct Input: Codable { var indices: [Int] } }

    func handle(_ context: RequestContext) throws -> JSONValue {
        let p = context.params
        switch context.method {
        case "initialize": return ["capabilities": ["methods": ["echo", "sleep"]]]
        case "shutdown": return nil
        case "empty": return [:]
        case "echo": return p ?? nil
        case "sleep":
            let start = now()
            let ms = p?["ms"]?.doubleValue ?? 10
            markStarted(context.id)
            defer { record(context.id, start) }
            while now() - start < ms / 1000 {
                if context.isCancelled { throw RPCError.cancelled(partial: ["slept": .number(((now() - start) * 1000).rounded())]) }
                usleep(1000)
            }
            return ["slept": .number(ms)]
        case "stubborn":
            markStarted(context.id)
            usleep(UInt32((p?["ms"]?.doubleValue ?? 50) * 1000))
            return ["done": true]
        case "progress":
            let steps = p?["steps"]?.intValue ?? 3
            context.progressBegin(title: "working", percentage: 0)
            for k in 1...steps {
                usleep(UInt32((p?["ms"]?.doubleValue ?? 60) * 1000))
                context.progressReport(message: "step \(k)", percentage: k * 100 / steps)
            }
            context.progressEnd(message: "done")
            return ["steps": JSONValue(steps)]
        case "fail":
            switch p?["kind"]?.stringValue {
            case "notFound": throw RPCError(code: -32001, message: "model \"x\" not found")   // a server's own code
            case "swift": throw NSError(domain: "toy", code: 7, userInfo: [NSLocalizedDescriptionKey: "boom"])
            default: throw RPCError.invalidParams("params.kind: expected a string")
            }
        case "log":
            context.notify(method: "window/logMessage", params: ["type": 3, "message": "hello"])
            return nil
        case "typed":
            let t = try context.decodeParams(Typed.self)
            return try JSONValueCoding.encode(t)
        default:
            throw RPCError.methodNotFound(context.method)
        }
    }

    func notification(method: String, params: JSONValue?) {
        lock.lock(); notifications.append(method); lock.unlock()
    }

    private func markStarted(_ id: RequestID) {
        guard case .number(let i) = id else { return }
        lock.lock(); startedIDs.insert(Int(i)); lock.unlock()
    }

    private func record(_ id: RequestID, _ start: Double) {
        guard case .number(let i) = id else { return }
        lock.lock(); spansByID[i] = (start, now()); lock.unlock()
    }
}
