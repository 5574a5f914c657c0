import Foundation
import Interpret
import NN
import TensorEngine

/// Patch PNGs for probe's topActivations: the receptive-field box of a top image's maximum.
extension AdvLensServer {
    /// The patch directory, resolved inside the workspace root and created, with the scale checked.
    func patchTarget(_ r: ProbeRequest) throws -> String {
        if let scale = r.params.patchScale, !(1...32).contains(scale) {
            throw ServerError.invalidParams("params.patchScale: expected 1 to 32, got \(scale)")
        }
        let dir = try workspace.paths(for: r.context.connection).resolve(r.params.patchDirectory ?? "advlens-patches", field: "params.patchDirectory")
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ServerError.io("params.patchDirectory: cannot create directory \(dir)")
        }
        return dir
    }

    /// Writes the box of image `image` of `images` (NCHW, the model's pixel range), each pixel
    /// drawn scale x scale, and returns the path.
    func writePatch(_ images: Tensor, image: Int, box: Box, model: Model, scale: Int, to path: String) throws -> String {
        let (c, h, w) = (images.shape[1], images.shape[2], images.shape[3])
        let (lo, hi) = (model.spec.input.lower, model.spec.input.upper)
        let outW = box.width * scale, outH = box.height * scale
        var pixels = [UInt8](repeating: 0, count: outW * outH * c)
        let base = image * c * h * w
        for y in 0..<outH {
            for x in 0..<outW {
                let (sy, sx) = (box.top + y / scale, box.left + x / scale)
                for ch in 0..<c {
                    let v = (images.data[base + (ch * h + sy) * w + sx] - lo) / (hi - lo)
                    pixels[(y * outW + x) * c + ch] = UInt8(max(0, min(255, (v * 255).rounded())))
                }
            }
        }
        try Images.writePNG(pixels, width: outW, height: outH, channels: c, to: path)
        return path
    }
}
