import LogCache

/// xoshiro256** seeded through SplitMix64: fast, and the same sequence for the same seed on
/// every platform and run, which makes synthetic traces reproducible.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// The generator for `seed`.
    public init(seed: UInt64) {
        var x = seed
        func splitmix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            return mix64(x)
        }
        s0 = splitmix(); s1 = splitmix(); s2 = splitmix(); s3 = splitmix()
    }

    @inline(__always)
    private static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// The next 64 random bits.
    @inline(__always)
    public mutating func next() -> UInt64 {
        let result = Self.rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = Self.rotl(s3, 45)
        return result
    }

    /// A uniform double in [0, 1).
    @inline(__always)
    public mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1.0p-53 }
}

/// Draws ranks 1…n with probability proportional to 1/rank^alpha in O(1) time and memory,
/// by rejection-inversion (Hörmann and Derflinger, 1996).
public struct ZipfSampler: Sendable {
    private let n: Double
    private let alpha: Double
    private let hIntegralX1: Double
    private let hIntegralN: Double
    private let s: Double

    /// A sampler over `objects` ranks with exponent `alpha` (> 0).
    public init(objects: Int, alpha: Double) {
        n = Double(objects)
        self.alpha = alpha
        let a = alpha
        hIntegralX1 = Self.hIntegral(1.5, a) - 1
        hIntegralN = Self.hIntegral(Double(objects) + 0.5, a)
        s = 2 - Self.hIntegralInverse(Self.hIntegral(2.5, a) - Self.h(2, a), a)
    }

    /// A rank from 1 to `objects`.
    @inline(__always)
    public func next(_ rng: inout SeededGenerator) -> Int {
        while true {
            let u = hIntegralN + rng.nextUnit() * (hIntegralX1 - hIntegralN)
            let x = Self.hIntegralInverse(u, alpha)
            var k = (x + 0.5).rounded(.down)
            if k < 1 { k = 1 } else if k > n { k = n }
            if k - x <= s || u >= Self.hIntegral(k + 0.5, alpha) - Self.h(k, alpha) {
                return Int(k)
            }
        }
    }

    private static func h(_ x: Double, _ a: Double) -> Double { exp(-a * log(x)) }

    private static func hIntegral(_ x: Double, _ a: Double) -> Double {
        let lx = log(x)
        return helper2((1 - a) * lx) * lx
    }

    private static func hIntegralInverse(_ x: Double, _ a: Double) -> Double {
        var t = x * (1 - a)
        if t < -1 { t = -1 }
        return exp(helper1(t) * x)
    }

    /// log(1+x)/x, continuous at 0.
    private static func helper1(_ x: Double) -> Double {
        abs(x) > 1e-8 ? log1p(x) / x : 1 - x * (0.5 - x * (1.0 / 3 - 0.25 * x))
    }

    /// (exp(x)-1)/x, continuous at 0.
    private static func helper2(_ x: Double) -> Double {
        abs(x) > 1e-8 ? expm1(x) / x : 1 + x * 0.5 * (1 + x * (1.0 / 3) * (1 + 0.25 * x))
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// Knuth's MMIX linear congruential generator, returning its whole 64-bit state: the
/// generator libCacheSim's policies draw from (its `next_rand`, starting from state 0). A
/// policy that draws from it as often as libCacheSim's does, and only where it does, makes
/// the same choices, so its counts can be compared exactly; its low bits are poor, which is
/// why nothing else here uses it.
public struct MMIXGenerator: Sendable {
    private var state: UInt64

    /// The generator from `state` (libCacheSim's is 0).
    public init(state: UInt64 = 0) { self.state = state }

    /// The next state.
    @inline(__always)
    public mutating func next() -> UInt64 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return state
    }
}
