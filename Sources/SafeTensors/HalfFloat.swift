/// Bit-exact conversions from the narrow float formats safetensors stores (IEEE half,
/// bfloat16, and the two 8-bit float formats) to Float. Done on bit patterns, not with
/// `Float16`, so they behave the same on every platform, subnormals, infinities and NaNs included.
enum NarrowFloat {
    /// IEEE 754 binary16: 1 sign, 5 exponent (bias 15), 10 mantissa bits.
    @inline(__always)
    static func half(_ h: UInt16) -> Float {
        let sign = UInt32(h >> 15) << 31
        let exponent = UInt32((h >> 10) & 0x1F)
        let mantissa = UInt32(h & 0x3FF)
        if exponent == 0 {
            // Zero or subnormal: mantissa * 2^-24, exact in Float.
            let magnitude = Float(mantissa) * 0x1p-24
            return sign == 0 ? magnitude : -magnitude
        }
        if exponent == 0x1F {
            // Infinity (mantissa 0) or NaN (payload kept in the top mantissa bits).
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        }
        return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
    }

    /// bfloat16: the top 16 bits of a binary32.
    @inline(__always)
    static func bfloat(_ b: UInt16) -> Float {
        Float(bitPattern: UInt32(b) << 16)
    }

    /// F8_E5M2: the top 8 bits of a binary16.
    @inline(__always)
    static func e5m2(_ b: UInt8) -> Float {
        half(UInt16(b) << 8)
    }

    /// F8_E4M3 (the "fn" variant PyTorch uses): 1 sign, 4 exponent (bias 7), 3 mantissa
    /// bits; no infinities, S.1111.111 is NaN.
    @inline(__always)
    static func e4m3(_ b: UInt8) -> Float {
        let negative = b & 0x80 != 0
        let exponent = Int((b >> 3) & 0x0F)
        let mantissa = Float(b & 0x07)
        let magnitude: Float
        if exponent == 0x0F && b & 0x07 == 0x07 {
            return negative ? -Float.nan : Float.nan
        } else if exponent == 0 {
            magnitude = mantissa * 0x1p-9
        } else {
            magnitude = (1 + mantissa / 8) * Float(sign: .plus, exponent: exponent - 7, significand: 1)
        }
        return negative ? -magnitude : magnitude
    }
}
