import Foundation
import RPC
import Store

/// Run logs: one row per request that did work (attack, probe, training step), in the
/// connection's cache database. A failure to log never fails the request (it is logged to
/// stderr instead).
extension AdvLensServer {
    /// Runs `body` and appends a run log row: the params (long base64 strings shortened), the
    /// duration, "ok" / "cancelled" / "error" and `summarize(result)` (or the error).
    func logged<T>(_ context: RequestContext, summarize: (T) throws -> JSONValue, _ body: () throws -> T) throws -> T {
        let start = DispatchTime.now().uptimeNanoseconds
        func elapsed() -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6 }
        do {
            let result = try body()
            appendRunLog(context, durationMs: elapsed(), status: "ok", result: (try? summarize(result)) ?? .null)
            return result
        } catch {
            let rpc = ServerError.from(error)
            let status = rpc.code == ErrorCode.requestCancelled ? "cancelled" : "error"
            appendRunLog(context, durationMs: elapsed(), status: status,
                         result: .object(JSONObject([("code", .number(Double(rpc.code))), ("message", .string(rpc.message))])))
            throw error
        }
    }

    func appendRunLog(_ context: RequestContext, durationMs: Double, status: String, result: JSONValue) {
        let params = Self.shortened(context.params ?? .object(JSONObject()))
        let entry = RunLogEntry(method: context.method, params: String(decoding: JSONText.serialize(params), as: UTF8.self),
                                durationMs: durationMs, status: status, result: String(decoding: JSONText.serialize(Self.shortened(result)), as: UTF8.self))
        do {
            try workspace.store(for: context.connection).appendRunLog(entry)
        } catch {
            Log.warning("run log for \(context.method) not written: \(error)")
        }
    }

    /// The value with every string longer than 200 characters (tensor data, PNGs) replaced by
    /// a note of its length: run logs summarize, they do not copy inputs.
    static func shortened(_ value: JSONValue) -> JSONValue {
        switch value {
        case .string(let s) where s.utf8.count > 200: return .string("<\(s.utf8.count) characters>")
        case .array(let items): return .array(items.map(shortened))
        case .object(let o): return .object(JSONObject(o.map { ($0.key, shortened($0.value)) }))
        default: return value
        }
    }
}
