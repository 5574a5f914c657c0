/// The PNG strip of one attack sample: original | adversarial | perturbation, each captioned —
/// the true class and the clean prediction with its confidence, the adversarial class with its
/// confidence and whether the attack succeeded, the L-inf and L2 norms — and the perturbation in
/// the diverging red/blue map (red: brightened, blue: darkened, white: unchanged) with its scale.
extension Images {
    /// What the captions say about one sample.
    struct StripCaption {
        var trueClass: String
        var cleanClass: String
        var cleanConfidence: Float
        var adversarialClass: String
        var adversarialConfidence: Float
        var success: Bool
        var linf: Float
        var l2: Float
    }

    /// RGB pixels of the strip: panels of `width`×`height` image pixels drawn `scale`×`scale`,
    /// caption lines below them (text scale `scale`/2, at least 1).
    static func comparisonStrip(original: ArraySlice<Float>, adversarial: ArraySlice<Float>, channels: Int, height: Int, width: Int,
                                range: (Float, Float), scale: Int, caption: StripCaption) -> (pixels: [UInt8], width: Int, height: Int) {
        let (lo, hi) = range
        let plane = height * width
        // The perturbation per pixel (channel mean), in the map's units: the input's.
        var delta = [Float](repeating: 0, count: plane)
        for c in 0..<channels {
            for i in 0..<plane {
                delta[i] += (adversarial[adversarial.startIndex + c * plane + i] - original[original.startIndex + c * plane + i]) / Float(channels)
            }
        }
        let amp = max(delta.map(abs).max() ?? 0, 1e-12)
        let text = max(1, scale / 2), line = PixelText.lineRows * text
        let gap = 4 * text, panelW = max(width * scale, PixelText.width("linf 0.000", scale: text))
        let panelsH = height * scale, captionH = 4 * line + 2 * text
        let outW = panelW * 3 + gap * 4, outH = gap + panelsH + text * 2 + captionH
        var out = [UInt8](repeating: 255, count: outW * outH * 3)
        func byte(_ v: Float) -> UInt8 { UInt8(max(0, min(255, (v * 255).rounded()))) }
        func put(_ x: Int, _ y: Int, _ rgb: (Float, Float, Float)) {
            let o = (y * outW + x) * 3
            (out[o], out[o + 1], out[o + 2]) = (byte(rgb.0), byte(rgb.1), byte(rgb.2))
        }
        func pixel(_ data: ArraySlice<Float>, _ i: Int) -> (Float, Float, Float) {
            let v = { (c: Int) in (data[data.startIndex + c * plane + i] - lo) / (hi - lo) }
            return channels >= 3 ? (v(0), v(1), v(2)) : (v(0), v(0), v(0))
        }
        let panels: [(Int) -> (Float, Float, Float)] = [{ pixel(original, $0) }, { pixel(adversarial, $0) }, { diverging(delta[$0] / amp) }]
        let left = (0..<3).map { gap + $0 * (panelW + gap) }
        for (p, value) in panels.enumerated() {
            for y in 0..<panelsH {
                for x in 0..<(width * scale) { put(left[p] + x, gap + y, value((y / scale) * width + x / scale)) }
            }
        }
        let ink: (UInt8, UInt8, UInt8) = (30, 30, 30)
        let top = gap + panelsH + text * 2
        func say(_ s: String, panel: Int, row: Int, color: (UInt8, UInt8, UInt8) = ink) {
            PixelText.draw(s, into: &out, imageWidth: outW, x: left[panel], y: top + row * line, scale: text, color: color)
        }
        func pct(_ v: Float) -> String { "\(Int((v * 100).rounded()))%" }
        say("original", panel: 0, row: 0)
        say("true \(caption.trueClass)", panel: 0, row: 1)
        say("pred \(caption.cleanClass) \(pct(caption.cleanConfidence))", panel: 0, row: 2)
        say("adversarial", panel: 1, row: 0)
        say("pred \(caption.adversarialClass) \(pct(caption.adversarialConfidence))", panel: 1, row: 1)
        say(caption.success ? "fooled" : "held", panel: 1, row: 2, color: caption.success ? (190, 20, 20) : (20, 110, 20))
        say("linf \(fixed(caption.linf, 3))", panel: 2, row: 0)
        say("l2 \(fixed(caption.l2, 3))", panel: 2, row: 1)
        colorbar(into: &out, imageWidth: outW, x: left[2], y: top + 2 * line, width: width * scale, height: line - 2 * text)
        say("-" + fixed(amp, 3), panel: 2, row: 3)
        let plus = "+" + fixed(amp, 3)
        PixelText.draw(plus, into: &out, imageWidth: outW, x: left[2] + width * scale - PixelText.width(plus, scale: text), y: top + 3 * line,
                       scale: text, color: ink)
        return (out, outW, outH)
    }

    /// `v` with `digits` decimals ("0.300"), without Foundation's formatting.
    static func fixed(_ v: Float, _ digits: Int) -> String {
        var p = 1
        for _ in 0..<digits { p *= 10 }
        let n = Int((abs(v) * Float(p)).rounded())
        let frac = String(n % p)
        return (v < 0 && n > 0 ? "-" : "") + "\(n / p)" + (digits > 0 ? "." + String(repeating: "0", count: digits - frac.count) + frac : "")
    }
}
