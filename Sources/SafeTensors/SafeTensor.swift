/// One named tensor as read from a safetensors file, and the element types the reader knows.

/// A tensor read from a safetensors file, its values converted to Float.
public struct SafeTensor: Sendable, Equatable {
    public let name: String
    /// Extent of each dimension, outermost first (`[]` for a scalar).
    public let shape: [Int]
    /// The dtype as stored in the file ("F32", "F16", "I64", ...).
    public let dtype: String
    /// The values in row-major order: integers and bools converted exactly where Float can
    /// hold them (beyond 2^24 rounded to nearest), F64 rounded to nearest Float.
    public let floats: [Float]

    public init(name: String, shape: [Int], dtype: String, floats: [Float]) {
        self.name = name
        self.shape = shape
        self.dtype = dtype
        self.floats = floats
    }

    /// Number of elements.
    public var count: Int { floats.count }
}

/// The safetensors dtypes this module reads, with their byte sizes.
enum DType: String, CaseIterable {
    case bool = "BOOL", u8 = "U8", i8 = "I8", f8e5m2 = "F8_E5M2", f8e4m3 = "F8_E4M3"
    case i16 = "I16", u16 = "U16", f16 = "F16", bf16 = "BF16"
    case i32 = "I32", u32 = "U32", f32 = "F32"
    case f64 = "F64", i64 = "I64", u64 = "U64"

    var size: Int {
        switch self {
        case .bool, .u8, .i8, .f8e5m2, .f8e4m3: return 1
        case .i16, .u16, .f16, .bf16: return 2
        case .i32, .u32, .f32: return 4
        case .f64, .i64, .u64: return 8
        }
    }

    /// Converts `count` little-endian elements starting at `bytes` to Float.
    func decode(_ bytes: UnsafeRawBufferPointer, count: Int) -> [Float] {
        precondition(bytes.count == count * size)
        return [Float](unsafeUninitializedCapacity: count) { out, initialized in
            func each<T: FixedWidthInteger>(_: T.Type, _ convert: (T) -> Float) {
                for i in 0..<count {
                    out[i] = convert(T(littleEndian: bytes.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self)))
                }
            }
            switch self {
            case .f32:
                #if _endian(little)
                if count > 0 { UnsafeMutableRawPointer(out.baseAddress!).copyMemory(from: bytes.baseAddress!, byteCount: count * 4) }
                #else
                each(UInt32.self) { Float(bitPattern: $0) }
                #endif
            case .f64: each(UInt64.self) { Float(Double(bitPattern: $0)) }
            case .f16: each(UInt16.self) { NarrowFloat.half($0) }
            case .bf16: each(UInt16.self) { NarrowFloat.bfloat($0) }
            case .f8e5m2: each(UInt8.self) { NarrowFloat.e5m2($0) }
            case .f8e4m3: each(UInt8.self) { NarrowFloat.e4m3($0) }
            case .i64: each(Int64.self) { Float($0) }
            case .u64: each(UInt64.self) { Float($0) }
            case .i32: each(Int32.self) { Float($0) }
            case .u32: each(UInt32.self) { Float($0) }
            case .i16: each(Int16.self) { Float($0) }
            case .u16: each(UInt16.self) { Float($0) }
            case .i8: each(Int8.self) { Float($0) }
            case .u8: each(UInt8.self) { Float($0) }
            case .bool: each(UInt8.self) { $0 != 0 ? 1 : 0 }
            }
            initialized = count
        }
    }
}
