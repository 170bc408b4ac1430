/// SplitMix64's finaliser: a bijection of 64-bit values whose every output bit depends on
/// every input bit. Hashes of ids that are already numbers (sketch rows, sampling, synthetic
/// sizes) and seeding both go through it.
@inlinable @inline(__always)
package func mix64(_ x: UInt64) -> UInt64 {
    var z = x
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}
