/// A 64-bit FNV-1a-style hash, written as 16 hex digits: the one fingerprint that keys caches
/// (model weights in NN, input images in the activation cache). Bytes are mixed one at a time;
/// floats one 32-bit bit pattern at a time (four times faster than byte-wise, and stable across
/// machines because it hashes bit patterns, not text). Not a cryptographic digest.
public struct Fingerprint: Sendable {
    private var h: UInt64 = 0xcbf2_9ce4_8422_2325
    private static let prime: UInt64 = 0x0000_0100_0000_01b3

    public init() {}

    public mutating func add<S: Sequence>(bytes: S) where S.Element == UInt8 {
        for b in bytes { h = (h ^ UInt64(b)) &* Self.prime }
    }

    public mutating func add(_ text: String) { add(bytes: text.utf8) }

    public mutating func add(floats: UnsafeBufferPointer<Float>) {
        var x = h
        for v in floats { x = (x ^ UInt64(v.bitPattern)) &* Self.prime }
        h = x
    }

    public mutating func add<C: Collection>(floats: C) where C.Element == Float {
        if let done: Void = floats.withContiguousStorageIfAvailable({ add(floats: $0) }) { return done }
        for v in floats { h = (h ^ UInt64(v.bitPattern)) &* Self.prime }
    }

    /// 16 lowercase hex digits.
    public var hex: String {
        let s = String(h, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }

    /// The fingerprint of one input image (its float32 values in order), as the activation
    /// cache keys it: the same image gives the same key in any process, batch or position.
    public static func input<C: Collection>(_ values: C) -> String where C.Element == Float {
        var f = Fingerprint()
        f.add(floats: values)
        return f.hex
    }

    /// The fingerprint of each image of a batch laid out as `count` consecutive rows of
    /// `values.count / count` floats.
    public static func inputs(_ values: [Float], count: Int) -> [String] {
        guard count > 0 else { return [] }
        let per = values.count / count
        return values.withUnsafeBufferPointer { all in
            (0..<count).map { i in
                var f = Fingerprint()
                f.add(floats: UnsafeBufferPointer(rebasing: all[(i * per)..<((i + 1) * per)]))
                return f.hex
            }
        }
    }
}
