/// The engine's seeded random number generator: xoshiro256** (Blackman & Vigna, 2018),
/// its 256-bit state filled from the 64-bit seed by SplitMix64.
///
/// Every random choice in AdvLens (initialisation, shuffling, dropout masks, random starts,
/// random targets) draws from one of these, so a seed reproduces a run exactly:
/// - `next()`: the next 64-bit output of xoshiro256**.
/// - `nextFloat()`: the top 24 bits of `next()` times 2^-24, uniform in [0, 1).
/// - `next(below: n)`: Lemire's multiply-and-reject method, unbiased in [0, n).
/// - `nextNormal()`: Box–Muller on two `nextFloat()` draws (u1 taken as 1 - u, so never 0),
///   the cosine branch only; one normal per two uniforms.
/// - `shuffle`: Fisher–Yates from the last index down, `j = next(below: i + 1)`.
public struct SeededRNG: RandomNumberGenerator, Sendable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    public init(seed: UInt64) {
        var sm = seed
        func splitMix() -> UInt64 {
            sm &+= 0x9E37_79B9_7F4A_7C15
            var z = sm
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitMix(); s1 = splitMix(); s2 = splitMix(); s3 = splitMix()
    }

    @inline(__always)
    private static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    @inline(__always)
    public mutating func next() -> UInt64 {
        let result = SeededRNG.rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = SeededRNG.rotl(s3, 45)
        return result
    }

    /// Uniform in [0, 1).
    @inline(__always)
    public mutating func nextFloat() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// Uniform in [low, high).
    @inline(__always)
    public mutating func uniform(_ low: Float, _ high: Float) -> Float {
        low + (high - low) * nextFloat()
    }

    /// Unbiased integer in [0, n), n > 0.
    public mutating func next(below n: Int) -> Int {
        precondition(n > 0, "SeededRNG.next(below:): n must be positive")
        let bound = UInt64(n)
        var m = next().multipliedFullWidth(by: bound)
        if m.low < bound {
            let threshold = (0 &- bound) % bound
            while m.low < threshold { m = next().multipliedFullWidth(by: bound) }
        }
        return Int(m.high)
    }

    /// Standard normal.
    public mutating func nextNormal() -> Float {
        let u1 = 1.0 - Double(nextFloat())
        let u2 = Double(nextFloat())
        return Float((-2.0 * _log(u1)).squareRoot() * _cos(2.0 * Double.pi * u2))
    }

    /// Fisher–Yates, as documented above.
    public mutating func shuffle<T>(_ array: inout [T]) {
        guard array.count > 1 else { return }
        for i in stride(from: array.count - 1, to: 0, by: -1) {
            let j = next(below: i + 1)
            if i != j { array.swapAt(i, j) }
        }
    }

    /// A permutation of 0..<n.
    public mutating func permutation(_ n: Int) -> [Int] {
        var p = Array(0..<n)
        shuffle(&p)
        return p
    }
}

import Foundation
@inline(__always) private func _log(_ x: Double) -> Double { Foundation.log(x) }
@inline(__always) private func _cos(_ x: Double) -> Double { Foundation.cos(x) }

extension SeededRNG {
    /// The generator of `key`'s draws in `stream` under `seed`: SplitMix64's finaliser over
    /// seed, key and stream folded one after another, so neighbouring keys or streams give
    /// unrelated generators. Why keyed: a sample (an attack's image, an item's stochastic-depth
    /// draw) then draws the same numbers whatever else shares its request, batch or chunk.
    public init(seed: UInt64, key: UInt64, stream: UInt64) {
        self.init(seed: Self.mix(Self.mix(Self.mix(seed) ^ key) ^ stream))
    }

    /// SplitMix64's finaliser (Steele, Lea & Flood 2014), after adding its odd constant.
    public static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
