import Foundation

/// A tensor known at import time: an initializer, a Constant node, or the folded result of the
/// shape arithmetic exporters emit (Shape → Gather → Unsqueeze → Concat → Reshape). Values are
/// floats; integer tensors also keep exact `ints`. `batchAt` marks the elements that stand for
/// the batch size, which is unknown until run time (Shape of a computed tensor, dimension 0):
/// they may be moved (Gather, Slice, Concat, Unsqueeze) but not computed with.
struct ConstantTensor: Equatable {
    var shape: [Int]
    var floats: [Float]
    /// Exact values of an integer tensor (int64/int32/...); nil for floating point tensors.
    var ints: [Int]?
    var batchAt: Set<Int> = []

    var count: Int { floats.count }
    var isInteger: Bool { ints != nil }

    init(shape: [Int], floats: [Float]) {
        self.shape = shape
        self.floats = floats
        self.ints = nil
    }

    init(shape: [Int], ints: [Int], batchAt: Set<Int> = []) {
        self.shape = shape
        self.ints = ints
        self.floats = ints.map { Float($0) }
        self.batchAt = batchAt
    }

    /// The values as integers (shape, axes, pads inputs), or nil for a float tensor.
    var intValues: [Int]? { ints }

    /// Elements at `flat` positions (row-major), as a tensor of `shape`, carrying batch marks.
    func taking(_ flat: [Int], shape: [Int]) -> ConstantTensor {
        var out: ConstantTensor
        if let ints { out = ConstantTensor(shape: shape, ints: flat.map { ints[$0] }) } else {
            out = ConstantTensor(shape: shape, floats: flat.map { floats[$0] })
        }
        out.batchAt = Set(flat.indices.filter { batchAt.contains(flat[$0]) })
        return out
    }

    /// Row-major strides of a shape.
    static func strides(_ shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            s[i] = acc
            acc *= shape[i]
        }
        return s
    }

    /// The data transposed by `perm` (Transpose of a constant; Gemm's transB=0 weights).
    func transposed(_ perm: [Int]) -> ConstantTensor {
        let inStrides = Self.strides(shape)
        let outShape = perm.map { shape[$0] }
        return taking(Self.offsets(outShape, strides: perm.map { inStrides[$0] }), shape: outShape)
    }

    /// For every index of `shape` in row-major order, Σ index[d] · strides[d]: the flat source
    /// offsets of a strided view (a transpose; a broadcast, with stride 0 on repeated axes).
    static func offsets(_ shape: [Int], strides: [Int]) -> [Int] {
        let count = shape.reduce(1, *)
        var out = [Int](repeating: 0, count: count)
        var index = [Int](repeating: 0, count: shape.count)
        for i in 0..<count {
            out[i] = zip(index, strides).reduce(0) { $0 + $1.0 * $1.1 }
            var d = shape.count - 1
            while d >= 0 {
                index[d] += 1
                if index[d] < shape[d] { break }
                index[d] = 0
                d -= 1
            }
        }
        return out
    }
}

/// Reading TensorProto data: float32/float64/float16 and the integer types, from the typed
/// fields or raw_data (little-endian), checked against the dims.
extension ConstantTensor {
    init(_ proto: Onnx_TensorProto, name: String) throws {
        if proto.dataLocation == .external || !proto.externalData.isEmpty {
            throw ONNXError.externalData(initializer: name)
        }
        let shape = proto.dims.map { Int($0) }
        guard shape.allSatisfy({ $0 >= 0 }) else { throw ONNXError.badTensor(name: name, message: "negative dimension in \(shape)") }
        let (count, overflow) = shape.reduce((1, false)) { acc, d in
            let (p, o) = acc.0.multipliedReportingOverflow(by: d)
            return (p, acc.1 || o)
        }
        guard !overflow, count <= 1 << 31 else { throw ONNXError.badTensor(name: name, message: "shape \(shape) is too large") }
        let raw = proto.rawData
        let type = Onnx_TensorProto.DataType(rawValue: Int(proto.dataType))
        func rawValues<T>(_: T.Type, _ convert: (T) -> Float) throws -> [Float] {
            guard raw.count == count * MemoryLayout<T>.size else {
                throw ONNXError.badTensor(name: name, message: "raw_data holds \(raw.count) bytes; shape \(shape) needs \(count * MemoryLayout<T>.size)")
            }
            return raw.withUnsafeBytes { buf in (0..<count).map { convert(buf.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.size, as: T.self)) } }
        }
        func rawInts<T: FixedWidthInteger>(_: T.Type) throws -> [Int] {
            guard raw.count == count * MemoryLayout<T>.size else {
                throw ONNXError.badTensor(name: name, message: "raw_data holds \(raw.count) bytes; shape \(shape) needs \(count * MemoryLayout<T>.size)")
            }
            return raw.withUnsafeBytes { buf in (0..<count).map { Int(T(littleEndian: buf.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.size, as: T.self))) } }
        }
        func checked<T>(_ values: [T]) throws -> [T] {
            guard values.count == count else {
                throw ONNXError.badTensor(name: name, message: "holds \(values.count) values; shape \(shape) needs \(count)")
            }
            return values
        }
        let useRaw = !raw.isEmpty || count == 0
        switch type {
        case .float?:
            self.init(shape: shape, floats: useRaw ? try rawValues(UInt32.self) { Float(bitPattern: UInt32(littleEndian: $0)) } : try checked(proto.floatData))
        case .double?:
            self.init(shape: shape, floats: useRaw ? try rawValues(UInt64.self) { Float(Double(bitPattern: UInt64(littleEndian: $0))) } : try checked(proto.doubleData).map { Float($0) })
        case .float16?:
            let halves: [Float] = useRaw ? try rawValues(UInt16.self) { Self.halfToFloat(UInt16(littleEndian: $0)) } : try checked(proto.int32Data).map { Self.halfToFloat(UInt16(truncatingIfNeeded: $0)) }
            self.init(shape: shape, floats: halves)
        case .int64?:
            self.init(shape: shape, ints: useRaw ? try rawInts(Int64.self) : try checked(proto.int64Data).map { Int($0) })
        case .int32?:
            self.init(shape: shape, ints: useRaw ? try rawInts(Int32.self) : try checked(proto.int32Data).map { Int($0) })
        case .int8?:
            self.init(shape: shape, ints: useRaw ? try rawInts(Int8.self) : try checked(proto.int32Data).map { Int($0) })
        case .uint8?, .bool?:
            self.init(shape: shape, ints: useRaw ? try rawInts(UInt8.self) : try checked(proto.int32Data).map { Int($0) })
        case .int16?:
            self.init(shape: shape, ints: useRaw ? try rawInts(Int16.self) : try checked(proto.int32Data).map { Int($0) })
        default:
            throw ONNXError.badTensor(name: name, message: "element type \(type.map { "\($0)" } ?? String(proto.dataType)) is not read (float, double, float16 and the integer types are)")
        }
    }

    /// IEEE 754 half to float (Swift's Float16 is missing on x86_64 Linux).
    static func halfToFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h >> 15) << 31
        let exponent = Int((h >> 10) & 0x1f)
        let mantissa = UInt32(h & 0x3ff)
        if exponent == 0 {
            let magnitude = Float(mantissa) * Float(sign: .plus, exponent: -24, significand: 1)
            return sign == 0 ? magnitude : -magnitude
        }
        if exponent == 31 { return Float(bitPattern: sign | 0x7f80_0000 | (mantissa << 13)) }
        return Float(bitPattern: sign | (UInt32(exponent - 15 + 127) << 23) | (mantissa << 13))
    }
}
