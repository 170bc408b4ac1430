import Synchronization

/// Decides, for one handle's zstd values, whether Huffman-coding their literals pays.
///
/// Literals are the bytes of a value that no match covers. zstd codes them with a Huffman
/// table built for each block, and on a small value that table is most of the work: on 1 KiB
/// values that are half random bytes, level 3 compresses 66 MB/s with literal compression and
/// 162 MB/s without, to exactly the same size (the random bytes do not code shorter, and the
/// text is covered by matches). On JSON the same table saves about 12% of the bytes
/// (docs/performance.md). Which case a store is in depends on what it holds, so a handle
/// measures it: the first values, and one in every ``period`` after them, are compressed
/// both ways (the smaller output is kept), and the other values skip literal compression
/// only while the sampled values show it saving less than 1/32 of their bytes.
///
/// Either way the output is an ordinary zstd frame: the choice is the encoder's alone, and
/// every reader decodes both. The counts are a heuristic shared by the handle's threads; a
/// race between two samples only moves the decision by one sample.
final class LiteralSampler: Sendable {
    /// Values compressed both ways before the decision is used.
    static let warmUp = 16
    /// One value in this many is compressed both ways after the warm-up, so that the
    /// decision follows what the store is given.
    static let period = 64

    private let values = Atomic<Int>(0)
    /// The sampled values' compressed bytes with literal compression (high 32 bits) and
    /// without it (low 32 bits), both halved whenever one passes ``window``, so that the
    /// last hundred or so samples of small values decide.
    private let sizes = Atomic<UInt64>(0)
    /// Bytes of sampled output past which the counts are halved.
    static let window: UInt64 = 1 << 16

    /// Whether the next value is to be compressed both ways.
    func shouldSample() -> Bool {
        let n = values.wrappingAdd(1, ordering: .relaxed).oldValue
        return n < Self.warmUp || n % Self.period == 0
    }

    /// Counts one sampled value's compressed sizes.
    func record(withLiterals: Int, withoutLiterals: Int) {
        let added = (UInt64(clamping: withLiterals), UInt64(clamping: withoutLiterals))
        var old = sizes.load(ordering: .relaxed)
        while true {
            // Each sample is below 2^32 bytes (values are at most 256 MiB), and the sums stay
            // below 2^17 after halving, so neither half overflows.
            var with = (old >> 32) + min(added.0, 1 << 31)
            var without = (old & 0xFFFF_FFFF) + min(added.1, 1 << 31)
            while with > Self.window || without > Self.window {
                with /= 2
                without /= 2
            }
            let (exchanged, current) = sizes.compareExchange(expected: old, desired: (with << 32) | without,
                                                             ordering: .relaxed)
            if exchanged { return }
            old = current
        }
    }

    /// Whether literal compression saved at least 1/32 of the sampled values' bytes.
    var compressesLiterals: Bool {
        let s = sizes.load(ordering: .relaxed)
        let (with, without) = (s >> 32, s & 0xFFFF_FFFF)
        return without > with + with / 32
    }
}
