import CStb

/// Encoding pixels as PNG bytes in memory (stb_image_write).
///
/// Why in memory: the daemon writes every file through `AtomicFile`, which creates it relative
/// to a directory already opened and checked against the workspace root; stb writing to a
/// path itself would follow a link swapped in meanwhile.
public enum ImageEncoding {
    /// The PNG of `width`×`height` pixels with `channels` (1 grey, 3 RGB, 4 RGBA) bytes each,
    /// rows top to bottom; nil when stb cannot encode it (sizes out of its range).
    public static func png(_ pixels: [UInt8], width: Int, height: Int, channels: Int) -> [UInt8]? {
        guard width > 0, height > 0, (1...4).contains(channels), pixels.count == width * height * channels,
              width * channels <= Int(Int32.max), height <= Int(Int32.max) else { return nil }
        let sink = PNGSink()
        let ok = pixels.withUnsafeBufferPointer { buffer in
            stbi_write_png_to_func({ context, data, size in
                guard let context, let data, size > 0 else { return }
                let sink = Unmanaged<PNGSink>.fromOpaque(context).takeUnretainedValue()
                sink.bytes.append(contentsOf: UnsafeRawBufferPointer(start: data, count: Int(size)))
            }, Unmanaged.passUnretained(sink).toOpaque(), Int32(width), Int32(height), Int32(channels), buffer.baseAddress, Int32(width * channels))
        }
        return ok != 0 ? sink.bytes : nil
    }
}

/// Collects what stb's write callback hands over (a class, so the C callback can reach it
/// through its context pointer).
private final class PNGSink {
    var bytes: [UInt8] = []
}
