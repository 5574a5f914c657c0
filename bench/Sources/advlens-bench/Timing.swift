import Foundation

/// Timing the way bench/pytorch_reference.py does, so the two columns are comparable: warm up,
/// then run `chunks` back-to-back chunks (each at least `minIterations` calls and
/// `minSeconds / chunks` long) and report the median rate over chunks (a stall on a noisy VM
/// spoils one chunk, not the figure), plus every single call's time.
struct Timing {
    var minSeconds: Double
    var minIterations = 3
    var warmup = 3
    var chunks = 5

    func measure(_ body: () throws -> Void) rethrows -> (callSeconds: [Double], ratePerSecond: Double) {
        // Warm-up as the reference does: at least `warmup` calls and min(0.25 s, a quarter of
        // the row's time).
        let warmupEnd = DispatchTime.now().uptimeNanoseconds + UInt64(min(0.25, minSeconds / 4) * 1e9)
        var warmed = 0
        while warmed < warmup || DispatchTime.now().uptimeNanoseconds < warmupEnd {
            try body()
            warmed += 1
        }
        var calls: [Double] = []
        var rates: [Double] = []
        for _ in 0..<chunks {
            let start = DispatchTime.now().uptimeNanoseconds
            var n = 0
            while true {
                let t0 = DispatchTime.now().uptimeNanoseconds
                try body()
                let t1 = DispatchTime.now().uptimeNanoseconds
                calls.append(Double(t1 - t0) / 1e9)
                n += 1
                let elapsed = Double(t1 - start) / 1e9
                if n >= minIterations && elapsed >= minSeconds / Double(chunks) {
                    rates.append(Double(n) / elapsed)
                    break
                }
            }
        }
        return (calls, median(rates))
    }
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    guard !s.isEmpty else { return .nan }
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// One JSON line of the shared benchmark format (see bench/README.md).
func emit(model: String, row: String, value: Double, unit: String) {
    let line: [String: Any] = ["impl": "advlens", "model": model, "row": row, "value": (value * 1000).rounded() / 1000, "unit": unit]
    let data = try! JSONSerialization.data(withJSONObject: line, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
    fflush(stdout)
}
