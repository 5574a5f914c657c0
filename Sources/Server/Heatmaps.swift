import Foundation
import TensorEngine

/// Heatmap PNGs: an attribution map drawn over its image (or alone), in the diverging map the
/// legend names — red for the class, blue against, white nothing — with a colour bar and its
/// scale below. Attack strips share the colour map and the bar.
extension Images {
    /// The diverging colour of `t` in [-1, 1]: blue (-1) through white (0) to red (+1).
    static func diverging(_ t: Float) -> (Float, Float, Float) {
        let t = max(-1, min(1, t))
        return (t >= 0 ? 1 : 1 + t, 1 - abs(t), t <= 0 ? 1 : 1 - t)
    }

    /// A horizontal bar of the diverging map from -1 (left) to +1 (right), with a thin frame.
    static func colorbar(into pixels: inout [UInt8], imageWidth: Int, x: Int, y: Int, width: Int, height: Int) {
        guard width > 1, height > 0 else { return }
        for dx in 0..<width {
            let c = diverging(2 * Float(dx) / Float(width - 1) - 1)
            for dy in 0..<height {
                let frame = dy == 0 || dy == height - 1 || dx == 0 || dx == width - 1
                let o = ((y + dy) * imageWidth + x + dx) * 3
                guard o + 2 < pixels.count else { continue }
                let rgb = frame ? (Float(0.4), Float(0.4), Float(0.4)) : c
                pixels[o] = UInt8((rgb.0 * 255).rounded()); pixels[o + 1] = UInt8((rgb.1 * 255).rounded()); pixels[o + 2] = UInt8((rgb.2 * 255).rounded())
            }
        }
    }

    /// The map over the image in dimmed grey (the channel mean), opacity |value| / max |value|
    /// (`overlay`), or the map alone in the diverging colours; below it the colour bar from
    /// -max to +max and `legend`. `map` is [C, h, w] with the image's size (channels summed)
    /// or any size (resampled by nearest pixel, e.g. Grad-CAM already upsampled). RGB, each
    /// pixel drawn `scale`×`scale`.
    static func heatmap(image: Tensor, map: Tensor, range: (Float, Float), scale: Int, overlay: Bool = true,
                        legend: [String] = []) -> (pixels: [UInt8], width: Int, height: Int) {
        let (c, h, w) = (image.shape[1], image.shape[2], image.shape[3])
        let (mc, mh, mw) = (map.shape[0], map.shape[1], map.shape[2])
        var values = [Float](repeating: 0, count: mh * mw)
        for ch in 0..<mc { for i in 0..<(mh * mw) { values[i] += map.data[ch * mh * mw + i] } }
        let peak = max(values.map(abs).max() ?? 0, 1e-12)
        let text = max(1, scale / 4), line = PixelText.lineRows * text, margin = 2 * text
        let scaleLabels = ["-" + fixed(peak, 3), "+" + fixed(peak, 3)]
        let textW = (legend + [scaleLabels.joined(separator: "  ")]).map { PixelText.width($0, scale: text) }.max() ?? 0
        let panelW = w * scale, panelH = h * scale
        let outW = max(panelW, textW) + 2 * margin, outH = margin + panelH + margin + line + line * (1 + legend.count)
        var out = [UInt8](repeating: 255, count: outW * outH * 3)
        let (lo, hi) = range
        for y in 0..<h {
            for x in 0..<w {
                let v = values[(y * mh / h) * mw + (x * mw / w)] / peak
                let rgb: (Float, Float, Float)
                if overlay {
                    var grey: Float = 0
                    for ch in 0..<c { grey += (image.data[(ch * h + y) * w + x] - lo) / (hi - lo) }
                    grey = 0.25 + 0.5 * max(0, min(1, grey / Float(c)))
                    let alpha = min(1, abs(v))
                    let color: (Float, Float, Float) = v >= 0 ? (1, 0.1, 0.05) : (0.05, 0.25, 1)
                    rgb = ((1 - alpha) * grey + alpha * color.0, (1 - alpha) * grey + alpha * color.1, (1 - alpha) * grey + alpha * color.2)
                } else {
                    rgb = diverging(v)
                }
                let bytes = [rgb.0, rgb.1, rgb.2].map { UInt8(max(0, min(255, $0 * 255)).rounded()) }
                for sy in 0..<scale {
                    for sx in 0..<scale {
                        let o = ((margin + y * scale + sy) * outW + margin + x * scale + sx) * 3
                        out[o] = bytes[0]; out[o + 1] = bytes[1]; out[o + 2] = bytes[2]
                    }
                }
            }
        }
        let ink: (UInt8, UInt8, UInt8) = (30, 30, 30)
        var y = margin + panelH + margin
        colorbar(into: &out, imageWidth: outW, x: margin, y: y, width: panelW, height: line - 2 * text)
        y += line
        PixelText.draw(scaleLabels[0], into: &out, imageWidth: outW, x: margin, y: y, scale: text, color: ink)
        PixelText.draw(scaleLabels[1], into: &out, imageWidth: outW, x: margin + max(panelW, textW) - PixelText.width(scaleLabels[1], scale: text),
                       y: y, scale: text, color: ink)
        for l in legend {
            y += line
            PixelText.draw(l, into: &out, imageWidth: outW, x: margin, y: y, scale: text, color: ink)
        }
        return (out, outW, outH)
    }
}
