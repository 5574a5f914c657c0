import Attacks
import Foundation
import Protocol
import RPC
import Settings

/// The daemon's own JSON path (strict parse and decode of an attack request's params, encode
/// and serialise of a 100-sample attack result) beside Foundation's JSONDecoder/JSONEncoder
/// on the same bytes and values, interleaved round by round so the machine's drift hits both.
/// Rows: per-call microseconds of each (`_foundation` rows are Foundation's), and our time over
/// Foundation's per round, median (below 1 is faster).
enum CodecBench {
    static func run(rounds: Int = 7, secondsPerRound: Double = 0.2) throws {
        var settings = AttackConfig(method: .pgd)
        (settings.norm, settings.epsilon, settings.stepSize, settings.steps, settings.restarts) = (.linf, 0.3, 0.01, 40, 1)
        (settings.randomStart, settings.targeted, settings.earlyStop, settings.seed) = (true, false, true, 7)
        var params = AttackMethod.Params(model: "mnist-small", settings: settings,
                                         inputs: Inputs([.dataset(name: "mnist-test", indices: Array(0..<100))]))
        params.labels = (0..<100).map { $0 % 10 }
        params.evaluateOn = ["mnist-madry"]
        params.return = .init(images: false, perturbations: false)
        let paramBytes = try JSONEncoder().encode(params)

        let samples = (0..<100).map { i in
            AttackMethod.Sample(index: i, source: i, label: i % 10, target: nil, adversarialLabel: (i + 3) % 10, success: i % 7 != 0,
                                cleanCorrect: true, linf: 0.3, l2: 4.123456, confidence: 0.987654, iterations: 12)
        }
        let summary = AttackMethod.Summary(count: 100, attacked: 100, successRate: 0.86, robustAccuracy: 0.14, cleanAccuracy: 1,
                                           meanLinf: 0.3, medianLinf: 0.3, meanL2: 4.1, medianL2: 4.2, elapsedMs: 123.4,
                                           imagesPerSecond: 810.5, stoppedEarly: false)
        let resolved = try settings.resolved()
        let result = AttackMethod.Result(handle: "adv-1", samples: samples, summary: summary,
                                         config: .init(settings: resolved, models: [.init(name: "mnist-small", weight: 1, fingerprint: "50e6909cc650c517")]),
                                         transfer: nil, images: nil, perturbations: nil, png: nil)

        func perCall(_ body: () throws -> Void) rethrows -> Double {
            let start = DispatchTime.now().uptimeNanoseconds
            var n = 0
            while true {
                try body()
                n += 1
                let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                if elapsed >= secondsPerRound { return elapsed / Double(n) * 1e6 }
            }
        }
        var ours: (decode: [Double], encode: [Double]) = ([], [])
        var foundation: (decode: [Double], encode: [Double]) = ([], [])
        let decoder = JSONDecoder(), encoder = JSONEncoder()
        for _ in 0..<rounds {
            ours.decode.append(try perCall { _ = try JSONValueCoding.decode(AttackMethod.Params.self, from: try JSONText.parse(paramBytes)) })
            foundation.decode.append(try perCall { _ = try decoder.decode(AttackMethod.Params.self, from: paramBytes) })
            ours.encode.append(try perCall { _ = JSONText.serialize(try JSONValueCoding.encode(result)) })
            foundation.encode.append(try perCall { _ = try encoder.encode(result) })
        }
        emit(model: "-", row: "codec_attack_params_decode_us", value: median(ours.decode), unit: "us")
        emit(model: "-", row: "codec_attack_params_decode_us_foundation", value: median(foundation.decode), unit: "us")
        emit(model: "-", row: "codec_attack_result100_encode_us", value: median(ours.encode), unit: "us")
        emit(model: "-", row: "codec_attack_result100_encode_us_foundation", value: median(foundation.encode), unit: "us")
        emit(model: "-", row: "codec_decode_time_vs_foundation", value: median(zip(ours.decode, foundation.decode).map { $0 / $1 }), unit: "x")
        emit(model: "-", row: "codec_encode_time_vs_foundation", value: median(zip(ours.encode, foundation.encode).map { $0 / $1 }), unit: "x")
    }
}

/// A large reply: `probe` activations of 256 images x 1,024 units (mnist-madry's dense layer),
/// encoded, framed and written to /dev/null as the daemon answers it; the default rows of
/// numbers and the `arrayEncoding: "base64"` tensor. Rows: median ms of each.
enum ProbeReplyBench {
    static func run(rounds: Int = 7) throws {
        var rng = SystemRandomNumberGenerator()
        // After a ReLU: about half the values are zero, the rest spread over (0, 4).
        let rows: [[Float]] = (0..<256).map { _ in (0..<1024).map { _ in Bool.random(using: &rng) ? 0 : Float.random(in: 0..<4, using: &rng) } }
        func reply(_ encoding: ArrayEncoding?) -> Probe.Result {
            var r = Probe.Result(kind: "activations", model: "madry", layer: "10", layerShape: [1024], count: 256, elapsedMs: 5)
            var table = Probe.ActivationTable(units: Array(0..<1024), indices: Array(0..<256), labels: (0..<256).map { $0 % 10 })
            table.values = FloatRows(rows, encoding: encoding)
            r.activations = table
            r.reduction = .max
            return r
        }
        let devNull = open("/dev/null", O_WRONLY)
        defer { close(devNull) }
        func time(_ encoding: ArrayEncoding?) throws -> (ms: Double, bytes: Int) {
            let start = DispatchTime.now().uptimeNanoseconds
            // The handler's part that depends on the encoding (rows -> tensor), then the transport's.
            let result = reply(encoding)
            var frame = OutgoingMessage.result(id: .number(7), try JSONValueCoding.encode(result))
            frame.append(0x0A)
            _ = frame.withUnsafeBytes { write(devNull, $0.baseAddress, $0.count) }
            return (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6, frame.count)
        }
        var json: [Double] = [], base64: [Double] = []
        var sizes = (0, 0)
        for _ in 0..<rounds {
            let j = try time(nil), b = try time(.base64)
            json.append(j.ms); base64.append(b.ms)
            sizes = (j.bytes, b.bytes)
        }
        emit(model: "-", row: "probe_reply_256x1024_json_encode_write_ms", value: median(json), unit: "ms")
        emit(model: "-", row: "probe_reply_256x1024_base64_encode_write_ms", value: median(base64), unit: "ms")
        emit(model: "-", row: "probe_reply_256x1024_json_kb", value: Double(sizes.0) / 1024, unit: "KB")
        emit(model: "-", row: "probe_reply_256x1024_base64_kb", value: Double(sizes.1) / 1024, unit: "KB")
    }
}
