/// `NPY`: reading and writing NumPy `.npy` files (format versions 1.0, 2.0 and 3.0,
/// C order, numeric dtypes in either byte order).
import Files
import TensorEngine

public enum NPY {
    /// Loads an array as a Tensor of the same shape (a 0-d array gives shape []).
    /// Values are converted to Float as they are: '|u1' images come back as 0...255 (the
    /// caller scales), '<f8' is rounded to Float, integers above 2^24 are rounded.
    /// Fortran-order arrays, structured dtypes and truncated data are errors. The file is
    /// read within `limits` (size, inflated size, cancellation).
    public static func load(path: String, limits: ReadLimits = .current) throws -> Tensor {
        try parse(Gzip.readFile(path, limits: limits), path: path).tensor
    }

    /// An array already in memory (an `.npz` entry), with its dtype description; `path` names
    /// it in errors.
    public static func parse(_ bytes: [UInt8], path: String) throws -> (tensor: Tensor, dtype: String) {
        let h = try header(bytes, path: path)
        let data = bytes.withUnsafeBytes { raw in
            [Float](unsafeUninitializedCapacity: h.count) { out, n in
                #if _endian(little)
                let fastF32 = h.kind == "f" && h.size == 4 && !h.bigEndian
                #else
                let fastF32 = false
                #endif
                if fastF32 {
                    if h.count > 0 { UnsafeMutableRawPointer(out.baseAddress!).copyMemory(from: raw.baseAddress! + h.dataOffset, byteCount: h.count * 4) }
                } else if h.kind == "u" && h.size == 1 {
                    for i in 0..<h.count { out[i] = Float(raw[h.dataOffset + i]) }
                } else {
                    decode(raw, h) { i, v in out[i] = Float(v) }
                }
                n = h.count
            }
        }
        return (Tensor(shape: h.shape, data: data), h.descr)
    }

    /// The array's dtype description as stored, e.g. "<f4" or "|u1" (so a caller can tell
    /// 0...255 pixels from values already scaled).
    public static func dtype(path: String, limits: ReadLimits = .current) throws -> String {
        try header(Gzip.readFile(path, limits: limits), path: path).descr
    }

    /// Loads a 1-D integer (or bool) array, such as labels, as [Int].
    public static func loadLabels(path: String, limits: ReadLimits = .current) throws -> [Int] {
        try parseLabels(Gzip.readFile(path, limits: limits), path: path)
    }

    /// Labels already in memory (an `.npz` entry); `path` names them in errors.
    public static func parseLabels(_ bytes: [UInt8], path: String) throws -> [Int] {
        let h = try header(bytes, path: path)
        guard h.kind != "f" else {
            throw DataError.format(path: path, reason: "expected an integer array for labels, found dtype '\(h.descr)'")
        }
        guard h.shape.count == 1 else {
            throw DataError.format(path: path, reason: "expected a 1-D array for labels, found shape \(h.shape)")
        }
        if h.kind == "u" && h.size == 8 {
            var big: Int?
            bytes.withUnsafeBytes { raw in decode(raw, h) { i, v in if v > Double(Int.max), big == nil { big = i } } }
            if let i = big { throw DataError.format(path: path, reason: "label at index \(i) does not fit in Int") }
        }
        var labels = [Int](repeating: 0, count: h.count)
        bytes.withUnsafeBytes { raw in decodeInts(raw, h) { i, v in labels[i] = v } }
        return labels
    }

    /// Writes `tensor` as a C-order '<f4' array in format version 1.0.
    public static func write(_ tensor: Tensor, to path: String) throws {
        var bytes = NPYHeader.encodeF32(shape: tensor.shape)
        bytes.reserveCapacity(bytes.count + tensor.count * 4)
        for v in tensor.data { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        try Gzip.writeFile(bytes, to: path, compressed: false)
    }

    /// Writes labels as a 1-D '<i8' array (what `loadLabels` and numpy read back).
    public static func writeLabels(_ labels: [Int], to path: String) throws {
        var bytes = NPYHeader.encode(descr: "<i8", shape: [labels.count])
        bytes.reserveCapacity(bytes.count + labels.count * 8)
        for v in labels { withUnsafeBytes(of: Int64(v).littleEndian) { bytes.append(contentsOf: $0) } }
        try Gzip.writeFile(bytes, to: path, compressed: false)
    }

    private static func header(_ bytes: [UInt8], path: String) throws -> NPYHeader {
        let h = try NPYHeader.parse(bytes, path: path)
        let needed = h.count * h.size
        let present = bytes.count - h.dataOffset
        if present < needed {
            throw DataError.format(path: path, reason: "truncated data: shape \(h.shape) of '\(h.descr)' needs \(needed) bytes, \(present) present")
        }
        if present > needed {
            throw DataError.format(path: path, reason: "\(present - needed) unexpected bytes after the array data")
        }
        return h
    }

    /// Calls `store(i, value)` for every element, as Double (exact for all but 64-bit integers
    /// beyond 2^53, which are rounded).
    private static func decode(_ raw: UnsafeRawBufferPointer, _ h: NPYHeader, _ store: (Int, Double) -> Void) {
        convert(raw, kind: h.kind, size: h.size, bigEndian: h.bigEndian, count: h.count, base: h.dataOffset, store)
    }

    /// `count` elements of dtype (`kind`, `size`, byte order) from `raw` at byte `base`, each
    /// given to `store(i, value)` as Double; also what a streamed `.npy` reads one image with.
    static func convert(_ raw: UnsafeRawBufferPointer, kind: Character, size: Int, bigEndian: Bool, count: Int, base: Int = 0,
                        _ store: (Int, Double) -> Void) {
        func each<T: FixedWidthInteger>(_: T.Type, _ convert: (T) -> Double) {
            for i in 0..<count {
                let v = raw.loadUnaligned(fromByteOffset: base + i * MemoryLayout<T>.size, as: T.self)
                store(i, convert(bigEndian ? T(bigEndian: v) : T(littleEndian: v)))
            }
        }
        switch (kind, size) {
        case ("f", 4): each(UInt32.self) { Double(Float(bitPattern: $0)) }
        case ("f", 8): each(UInt64.self) { Double(bitPattern: $0) }
        case ("b", 1): each(UInt8.self) { $0 != 0 ? 1 : 0 }
        case ("u", 8): each(UInt64.self) { Double($0) }
        default: convertInts(raw, kind: kind, size: size, bigEndian: bigEndian, count: count, base: base) { i, v in store(i, Double(v)) }
        }
    }

    /// Calls `store(i, value)` for every element of an integer or bool array
    /// (unsigned 64-bit values above Int.max wrap; callers check first).
    private static func decodeInts(_ raw: UnsafeRawBufferPointer, _ h: NPYHeader, _ store: (Int, Int) -> Void) {
        convertInts(raw, kind: h.kind, size: h.size, bigEndian: h.bigEndian, count: h.count, base: h.dataOffset, store)
    }

    private static func convertInts(_ raw: UnsafeRawBufferPointer, kind: Character, size: Int, bigEndian: Bool, count: Int, base: Int,
                                    _ store: (Int, Int) -> Void) {
        func each<T: FixedWidthInteger>(_: T.Type) {
            for i in 0..<count {
                let v = raw.loadUnaligned(fromByteOffset: base + i * MemoryLayout<T>.size, as: T.self)
                store(i, Int(truncatingIfNeeded: bigEndian ? T(bigEndian: v) : T(littleEndian: v)))
            }
        }
        switch (kind, size) {
        case ("i", 1): each(Int8.self)
        case ("i", 2): each(Int16.self)
        case ("i", 4): each(Int32.self)
        case ("i", 8): each(Int64.self)
        case ("u", 1): each(UInt8.self)
        case ("b", 1):
            for i in 0..<count { store(i, raw[base + i] != 0 ? 1 : 0) }
        case ("u", 2): each(UInt16.self)
        case ("u", 4): each(UInt32.self)
        case ("u", 8): each(UInt64.self)
        default: break
        }
    }
}
