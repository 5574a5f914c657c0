import CStb
import Data
import Files
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
        do {
            return try ImageDecoding.decode(bytes, channels: channels, height: height, width: width, range: range)
        } catch let failure as ImageDecoding.Failure {
            switch failure {
            case .unsupportedChannels(let c):
                throw ServerError.shapeMismatch("\(what): images can feed models with 1 or 3 input channels, this one takes \(c)")
            case .tooLarge:
                throw ServerError.resourceLimit("\(what): image file too large")
            case .unreadable(let reason):
                throw ServerError.invalidParams("\(what): not a readable image (\(reason))")
            case .size(let w, let h):
                throw ServerError.shapeMismatch("\(what): image is \(w)x\(h) pixels, the model takes \(width)x\(height)")
            }
        }
    }
}

extension Images {
    /// Writes a PNG of `width`×`height` pixels with `channels` (1 grey, 3 RGB) bytes each,
    /// atomically (`AtomicFile`: a temporary created in the directory opened and checked against
    /// the workspace root, then renamed), so a link swapped in cannot take the write elsewhere.
    static func writePNG(_ pixels: [UInt8], width: Int, height: Int, channels: Int, to path: String) throws {
        guard let png = ImageEncoding.png(pixels, width: width, height: height, channels: channels) else {
            throw ServerError.io("cannot encode PNG \(path) (\(width)x\(height), \(channels) channels)")
        }
        do {
            try AtomicFile.write(png, to: path)
        } catch let e as AtomicFile.WriteError {
            throw ServerError.io("cannot write PNG \(e.description)")
        }
    }
}
