import Foundation
import TensorEngine

/// Heatmap PNGs: an attribution map drawn over its image.
extension Images {
    /// The image in dimmed grey (the channel mean) with the map over it: red where positive,
    /// blue where negative, opacity proportional to |value| / max |value|. `map` is [C, h, w]
    /// with the image's size (channels summed) or any size (resampled by nearest pixel, e.g.
    /// Grad-CAM already upsampled). RGB, each pixel drawn `scale`×`scale`.
    static func heatmap(image: Tensor, map: Tensor, range: (Float, Float), scale: Int) -> (pixels: [UInt8], width: Int, height: Int) {
        let (c, h, w) = (image.shape[1], image.shape[2], image.shape[3])
        let (mc, mh, mw) = (map.shape[0], map.shape[1], map.shape[2])
        var values = [Float](repeating: 0, count: mh * mw)
        for ch in 0..<mc { for i in 0..<(mh * mw) { values[i] += map.data[ch * mh * mw + i] } }
        let peak = max(values.map(abs).max() ?? 0, 1e-12)
        let outW = w * scale, outH = h * scale
        var out = [UInt8](repeating: 0, count: outW * outH * 3)
        let (lo, hi) = range
        for y in 0..<h {
            for x in 0..<w {
                var grey: Float = 0
                for ch in 0..<c { grey += (image.data[(ch * h + y) * w + x] - lo) / (hi - lo) }
                grey = 0.25 + 0.5 * max(0, min(1, grey / Float(c)))
                let v = values[(y * mh / h) * mw + (x * mw / w)] / peak
                let alpha = min(1, abs(v))
                let color: (Float, Float, Float) = v >= 0 ? (1, 0.1, 0.05) : (0.05, 0.25, 1)
                let rgb = [color.0, color.1, color.2].map { UInt8(max(0, min(255, ((1 - alpha) * grey + alpha * $0) * 255)).rounded()) }
                for sy in 0..<scale {
                    for sx in 0..<scale {
                        let o = ((y * scale + sy) * outW + x * scale + sx) * 3
                        out[o] = rgb[0]; out[o + 1] = rgb[1]; out[o + 2] = rgb[2]
                    }
                }
            }
        }
        return (out, outW, outH)
    }
}
