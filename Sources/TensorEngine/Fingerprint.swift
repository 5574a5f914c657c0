/// A 64-bit FNV-1a-style hash, written as 16 hex digits: the one fingerprint that keys caches
/// (model weights in NN, input images in the activation cache). Bytes are mixed one at a time;
/// floats one 32-bit bit pattern at a time in four lanes (stable across machines because it
/// hashes bit patterns, not text). Not a cryptographic digest.
public struct Fingerprint: Sendable {
    private var h: UInt64 = 0xcbf2_9ce4_8422_2325
    private static let prime: UInt64 = 0x0000_0100_0000_01b3

    public init() {}

    /// The running hash, and a fingerprint resumed from one: adding an array depends only on
    /// the state before it and the array, so a caller that keeps both ends (`Parameter` keeps
    /// its value's, which changes only when the value does) can skip the hashing next time.
    public var state: UInt64 { h }

    public init(state: UInt64) { h = state }

    public mutating func add<S: Sequence>(bytes: S) where S.Element == UInt8 {
        for b in bytes { h = (h ^ UInt64(b)) &* Self.prime }
    }

    public mutating func add(_ text: String) { add(bytes: text.utf8) }

    /// Floats go through four FNV lanes (elements 0, 4, 8, ... in the first, 1, 5, 9, ... in
    /// the second, ...), each seeded from the running hash, then folded back into it with the
    /// count: four independent multiply chains run about four times faster than one, which is
    /// what a 13 MB model's fingerprint on every request needs.
    public mutating func add(floats: UnsafeBufferPointer<Float>) {
        let p = Self.prime
        var a = h, b = h ^ 0x9e37_79b9_7f4a_7c15, c = h ^ 0xc2b2_ae3d_27d4_eb4f, d = h ^ 0x1656_67b1_9e37_79f9
        let n = floats.count
        var i = 0
        while i + 4 <= n {
            a = (a ^ UInt64(floats[i].bitPattern)) &* p
            b = (b ^ UInt64(floats[i + 1].bitPattern)) &* p
            c = (c ^ UInt64(floats[i + 2].bitPattern)) &* p
            d = (d ^ UInt64(floats[i + 3].bitPattern)) &* p
            i += 4
        }
        while i < n {
            a = (a ^ UInt64(floats[i].bitPattern)) &* p
            i += 1
        }
        // FNV's multiply carries low bits upward only: fold each lane's high half down first.
        var x = h
        for lane in [a, b, c, d, UInt64(n)] { x = (x ^ (lane ^ (lane >> 32))) &* p }
        h = x
    }

    public mutating func add<C: Collection>(floats: C) where C.Element == Float {
        if let done: Void = floats.withContiguousStorageIfAvailable({ add(floats: $0) }) { return done }
        add(floats: Array(floats))
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
