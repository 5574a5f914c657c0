import CStb
import Foundation
import TensorEngine

/// Decoding image files (PNG, and whatever else stb_image reads) into model input, and
/// encoding PNGs.
enum Images {
    /// The largest image file read from a client path (stb_image takes at most 2 GiB).
    static let maxFileBytes = 256 << 20

    /// Decodes one image to a [1, C, H, W] tensor scaled into `range`, converting to the
    /// model's channel count (1: grey, 3: RGB). The size must match the model's input.
    static func decode(_ bytes: [UInt8], channels: Int, height: Int, width: Int, range: (Float, Float), what: String) throws -> Tensor {
        guard channels == 1 || channels == 3 else {
            throw ServerError.shapeMismatch("\(what): images can feed models with 1 or 3 input channels, this one takes \(channels)")
        }
        guard bytes.count < Int(Int32.max) else { throw ServerError.resourceLimit("\(what): image file too large") }
        var w: Int32 = 0, h: Int32 = 0, c: Int32 = 0
        guard let pixels = bytes.withUnsafeBufferPointer({ stbi_load_from_memory($0.baseAddress, Int32($0.count), &w, &h, &c, Int32(channels)) }) else {
            let reason = stbi_failure_reason().map { String(cString: $0) } ?? "unknown"
            throw ServerError.invalidParams("\(what): not a readable image (\(reason))")
        }
        defer { stbi_image_free(pixels) }
        guard Int(h) == height, Int(w) == width else {
            throw ServerError.shapeMismatch("\(what): image is \(w)x\(h) pixels, the model takes \(width)x\(height)")
        }
        // lo + (hi - lo) · (p / 255): for the usual [0, 1] exactly p / 255, as a tensor made by
        // dividing the same pixels by 255.
        let (lo, hi) = range
        let span = hi - lo
        return Tensor(uninitializedShape: [1, channels, height, width]) { out in
            for y in 0..<height {
                for x in 0..<width {
                    for ch in 0..<channels {
                        out[(ch * height + y) * width + x] = lo + span * (Float(pixels[(y * width + x) * channels + ch]) / 255)
                    }
                }
            }
        }
    }
}

extension Images {
    /// Writes a PNG of `width`×`height` pixels with `channels` (1 grey, 3 RGB) bytes each,
    /// atomically (temporary file, then rename).
    static func writePNG(_ pixels: [UInt8], width: Int, height: Int, channels: Int, to path: String) throws {
        let tmp = path + ".tmp-\(getpid())"
        let ok = pixels.withUnsafeBufferPointer { stbi_write_png(tmp, Int32(width), Int32(height), Int32(channels), $0.baseAddress, Int32(width * channels)) }
        guard ok != 0, rename(tmp, path) == 0 else {
            unlink(tmp)
            throw ServerError.io("cannot write PNG \(path)")
        }
    }
}
