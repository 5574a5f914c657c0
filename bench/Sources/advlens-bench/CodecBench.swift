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
