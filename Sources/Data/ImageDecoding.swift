import CStb
import TensorEngine

/// Decoding image files (PNG, JPEG, BMP, ...: whatever stb_image reads) into model input.
///
/// Why in Data: image inputs of requests and image datasets decode the same way, and the
/// format fuzzer (fuzz/FormatsFuzz.swift) reaches it without the server.
public enum ImageDecoding {
    /// What is wrong with an image; the caller words it for its field or file.
    public enum Failure: Error, Equatable, Sendable {
        /// The model takes another number of channels than 1 (grey) or 3 (RGB).
        case unsupportedChannels(Int)
        /// Over the 2 GiB stb_image takes.
        case tooLarge
        /// Not an image stb_image can read; its reason.
        case unreadable(String)
        /// Decoded, but not the model's size.
        case size(width: Int, height: Int)
    }

    /// Decodes one image to a [1, C, H, W] tensor scaled into `range`, converting to
    /// `channels` (1: grey, 3: RGB). The image must be `width`×`height` pixels.
    public static func decode(_ bytes: [UInt8], channels: Int, height: Int, width: Int, range: (Float, Float)) throws -> Tensor {
        let picture = try decode(bytes, channels: channels)
        guard picture.height == height, picture.width == width else { throw Failure.size(width: picture.width, height: picture.height) }
        // lo + (hi - lo) · (p / 255): for the usual [0, 1] exactly p / 255, as a tensor made by
        // dividing the same pixels by 255.
        let (lo, hi) = range
        let span = hi - lo
        return Tensor(uninitializedShape: [1, channels, height, width]) { out in
            for k in 0..<picture.values.count { out[k] = lo + span * picture.values[k] }
        }
    }

    /// Decodes one image at its own size to planar [C, H, W] values p / 255 in [0, 1],
    /// converting to `channels` the way stb_image does (grey = (77 r + 150 g + 29 b) >> 8;
    /// grey to RGB repeats the value; alpha is dropped).
    public static func decode(_ bytes: [UInt8], channels: Int) throws -> Picture {
        guard channels == 1 || channels == 3 else { throw Failure.unsupportedChannels(channels) }
        guard bytes.count < Int(Int32.max) else { throw Failure.tooLarge }
        var w: Int32 = 0, h: Int32 = 0, c: Int32 = 0
        guard let pixels = bytes.withUnsafeBufferPointer({ stbi_load_from_memory($0.baseAddress, Int32($0.count), &w, &h, &c, Int32(channels)) }) else {
            throw Failure.unreadable(stbi_failure_reason().map { String(cString: $0) } ?? "unknown")
        }
        defer { stbi_image_free(pixels) }
        let (height, width) = (Int(h), Int(w))
        let values = [Float](unsafeUninitializedCapacity: channels * height * width) { out, n in
            for y in 0..<height {
                for x in 0..<width {
                    for ch in 0..<channels {
                        out[(ch * height + y) * width + x] = Float(pixels[(y * width + x) * channels + ch]) / 255
                    }
                }
            }
            n = channels * height * width
        }
        return Picture(channels: channels, height: height, width: width, values: values)
    }
}

/// A decoded image at its own size: planar [C, H, W] values.
public struct Picture: Sendable {
    public var channels: Int
    public var height: Int
    public var width: Int
    public var values: [Float]
    public init(channels: Int, height: Int, width: Int, values: [Float]) {
        precondition(values.count == channels * height * width, "Picture: \(values.count) values for [\(channels), \(height), \(width)]")
        self.channels = channels
        self.height = height
        self.width = width
        self.values = values
    }
}
