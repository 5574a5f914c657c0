/// `ImageTransform`: what image datasets do to each decoded picture to give it the model's
/// input shape: resize (shorter side, bilinear), center crop, scale into the pixel range.

/// Why one type: image folders and the ImageNet-validation layout transform alike, and the
/// conventions below are the ones the documentation and the tests name.
///
/// Exactly:
/// 1. Decoding converts to `shape[0]` channels (`ImageDecoding.decode(_:channels:)`).
/// 2. With `resize` = S, the shorter side becomes S and the longer L·S/s rounded down
///    (torchvision's `Resize(S)`), by bilinear interpolation with half-pixel centres and no
///    antialiasing: output pixel o reads the input at (o + 0.5)·in/out − 0.5, clamped to
///    [0, in − 1], between its two neighbours (PyTorch's `interpolate(mode="bilinear",
///    align_corners=False, antialias=False)`, OpenCV's `INTER_LINEAR`), rows then columns.
/// 3. The centre H×W is cut out: top = (h − H)/2 and left = (w − W)/2, rounded down. A
///    picture smaller than H×W at this point is an error.
/// 4. Values p in [0, 1] become lo + (hi − lo)·p for `range` (lo, hi).
public struct ImageTransform: Sendable {
    /// The output [C, H, W]; C is 1 (grey) or 3 (RGB).
    public var shape: [Int]
    /// The shorter side's length after resizing; nil: no resizing.
    public var resize: Int?
    public var range: (Float, Float)

    public init(shape: [Int], resize: Int? = nil, range: (Float, Float) = (0, 1)) throws {
        guard shape.count == 3, shape[0] == 1 || shape[0] == 3, shape[1] > 0, shape[2] > 0, shape[1] <= 1 << 14, shape[2] <= 1 << 14 else {
            throw DataError.invalidArgument("image datasets need a [C, H, W] shape with C 1 or 3 and sides in 1...16384, got \(shape)")
        }
        if let resize, !(1...(1 << 14)).contains(resize) {
            throw DataError.invalidArgument("resize must be in 1...16384, got \(resize)")
        }
        self.shape = shape
        self.resize = resize
        self.range = range
    }

    public var valuesPerImage: Int { shape[0] * shape[1] * shape[2] }

    /// Decodes `bytes` (the file `path`, named in errors) and transforms it into `out`, which
    /// holds `valuesPerImage` values.
    public func apply(_ bytes: [UInt8], path: String, into out: UnsafeMutableBufferPointer<Float>) throws {
        try apply(decode(bytes, path: path), path: path, into: out)
    }

    /// Decodes `bytes` (the file `path`, named in errors) to `shape[0]` channels (step 1).
    public func decode(_ bytes: [UInt8], path: String) throws -> Picture {
        do { return try ImageDecoding.decode(bytes, channels: shape[0]) } catch let failure as ImageDecoding.Failure {
            switch failure {
            case .unreadable(let reason): throw DataError.format(path: path, reason: "not a readable image (\(reason))")
            case .tooLarge: throw DataError.format(path: path, reason: "image file too large for stb_image (2 GiB)")
            case .unsupportedChannels(let c): throw DataError.invalidArgument("\(c) channels: images convert to 1 (grey) or 3 (RGB)")
            case .size: throw DataError.format(path: path, reason: "unexpected image size")
            }
        }
    }

    /// Steps 2 to 4 on a decoded picture of `shape[0]` channels.
    public func apply(_ picture: Picture, path: String, into out: UnsafeMutableBufferPointer<Float>) throws {
        let resized = try resize.map { try ImageTransform.resize(picture, shorterSide: $0, path: path) } ?? picture
        let (c, h, w) = (shape[0], shape[1], shape[2])
        guard resized.height >= h, resized.width >= w else {
            throw DataError.format(path: path, reason: "is \(resized.width)x\(resized.height) pixels"
                + (resize == nil ? "" : " after resizing") + ", smaller than the \(w)x\(h) crop; "
                + (resize == nil ? "pass a resize" : "pass a larger resize"))
        }
        let top = (resized.height - h) / 2, left = (resized.width - w) / 2
        let (lo, hi) = range
        let span = hi - lo
        for ch in 0..<c {
            for y in 0..<h {
                let src = (ch * resized.height + top + y) * resized.width + left
                let dst = (ch * h + y) * w
                for x in 0..<w { out[dst + x] = lo + span * resized.values[src + x] }
            }
        }
    }

    /// The picture with its shorter side `side` pixels (step 2 above).
    public static func resize(_ p: Picture, shorterSide side: Int, path: String) throws -> Picture {
        let (h, w) = resized(height: p.height, width: p.width, shorterSide: side)
        guard h >= 1, w >= 1, h <= 1 << 15, w <= 1 << 15 else {
            throw DataError.format(path: path, reason: "is \(p.width)x\(p.height) pixels, which resizes to \(w)x\(h)")
        }
        if h == p.height && w == p.width { return p }
        let rows = taps(from: p.height, to: h), cols = taps(from: p.width, to: w)
        var values = [Float](repeating: 0, count: p.channels * h * w)
        var row = [Float](repeating: 0, count: p.width)
        for ch in 0..<p.channels {
            let plane = ch * p.height * p.width
            for (y, tap) in rows.enumerated() {
                // Interpolate between two input rows, then along the row.
                let a = plane + tap.low * p.width, b = plane + tap.high * p.width
                for x in 0..<p.width { row[x] = p.values[a + x] * (1 - tap.weight) + p.values[b + x] * tap.weight }
                let dst = (ch * h + y) * w
                for (x, c) in cols.enumerated() { values[dst + x] = row[c.low] * (1 - c.weight) + row[c.high] * c.weight }
            }
        }
        return Picture(channels: p.channels, height: h, width: w, values: values)
    }

    /// The size a `height` × `width` picture has after step 2 (before the crop).
    public func resized(height: Int, width: Int) -> (height: Int, width: Int) {
        resize.map { ImageTransform.resized(height: height, width: width, shorterSide: $0) } ?? (height, width)
    }

    static func resized(height: Int, width: Int, shorterSide side: Int) -> (height: Int, width: Int) {
        height <= width ? (side, width * side / height) : (height * side / width, side)
    }

    /// For each output index, the two input indices it lies between and the weight of the
    /// second.
    private static func taps(from input: Int, to output: Int) -> [(low: Int, high: Int, weight: Float)] {
        let scale = Double(input) / Double(output)
        return (0..<output).map { o in
            let src = min(max((Double(o) + 0.5) * scale - 0.5, 0), Double(input - 1))
            let low = Int(src.rounded(.down))
            return (low, min(low + 1, input - 1), Float(src - Double(low)))
        }
    }
}
