/// A popularity estimate for keys: a count-min sketch of 4-bit counters (4 rows) behind a
/// doorkeeper bloom filter, with periodic halving, as TinyLFU (Einziger et al., 2017) describes.
///
/// The doorkeeper absorbs each key's first occurrence, so one-hit wonders never reach the
/// counters. After 10 × width recorded occurrences every counter is halved and the doorkeeper
/// cleared, so old popularity fades. The width grows (and the sketch restarts) as more objects
/// are tracked, keeping about one counter per object per row.
public struct FrequencySketch: Sendable {
    private var counters: [UInt8]
    private var doorkeeper: [UInt64]
    private var width: Int
    private var additions = 0
    private static let depth = 4
    private static let seeds: [UInt64] = [0x9E37_79B9_7F4A_7C15, 0xC2B2_AE3D_27D4_EB4F, 0x1656_67B1_9E37_79F9, 0x27D4_EB2F_1656_67C5]

    /// A sketch for about `objects` distinct keys.
    public init(objects: Int = 16) {
        width = 16
        while width < objects { width *= 2 }
        counters = Array(repeating: 0, count: width * Self.depth)
        doorkeeper = Array(repeating: 0, count: width / 8)
    }

    /// Counter and doorkeeper bytes per object at the current width.
    public var bytesPerObject: Double { Double(counters.count + doorkeeper.count * 8) / Double(width) }

    /// Widens the sketch (forgetting all counts) when it covers fewer than `objects` keys.
    public mutating func ensureCapacity(objects: Int) {
        guard objects > width else { return }
        self = FrequencySketch(objects: objects * 2)
    }

    @inline(__always)
    private static func mix(_ key: UInt64, _ seed: UInt64) -> UInt64 {
        var z = key &+ seed
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    private func doorkeeperBits(_ key: UInt64) -> (Int, Int) {
        let h = Self.mix(key, 0xD6E8_FEB8_6659_FD93)
        let bits = doorkeeper.count * 64
        return (Int(h % UInt64(bits)), Int((h >> 32) % UInt64(bits)))
    }

    private func doorkeeperContains(_ key: UInt64) -> Bool {
        let (a, b) = doorkeeperBits(key)
        return doorkeeper[a >> 6] & (1 << UInt64(a & 63)) != 0 && doorkeeper[b >> 6] & (1 << UInt64(b & 63)) != 0
    }

    /// Records one occurrence of `key`.
    public mutating func increment(_ key: UInt64) {
        if !doorkeeperContains(key) {
            let (a, b) = doorkeeperBits(key)
            doorkeeper[a >> 6] |= 1 << UInt64(a & 63)
            doorkeeper[b >> 6] |= 1 << UInt64(b & 63)
        } else {
            for row in 0..<Self.depth {
                let i = row * width + Int(Self.mix(key, Self.seeds[row]) & UInt64(width - 1))
                if counters[i] < 15 { counters[i] += 1 }
            }
        }
        additions += 1
        if additions >= 10 * width { age() }
    }

    /// The estimated number of recent occurrences of `key` (never below the true count since the last halving, up to 16).
    public func estimate(_ key: UInt64) -> Int {
        var m = UInt8.max
        for row in 0..<Self.depth {
            let i = row * width + Int(Self.mix(key, Self.seeds[row]) & UInt64(width - 1))
            m = min(m, counters[i])
        }
        return Int(m) + (doorkeeperContains(key) ? 1 : 0)
    }

    /// The whole sketch as words: the width, the occurrences since the last halving, the
    /// counters eight to a word (little-endian bytes), then the doorkeeper's bits.
    public var words: [UInt64] {
        var out: [UInt64] = [UInt64(width), UInt64(additions)]
        out.reserveCapacity(2 + counters.count / 8 + doorkeeper.count)
        for i in stride(from: 0, to: counters.count, by: 8) {
            var w: UInt64 = 0
            for j in 0..<8 { w |= UInt64(counters[i + j]) << UInt64(8 * j) }
            out.append(w)
        }
        out.append(contentsOf: doorkeeper)
        return out
    }

    /// The sketch ``words`` describe; nil when they are not a whole sketch of this layout
    /// (a width that is not a power of two from 16 to 2^32, counters over 15, or the wrong count).
    public init?(words: [UInt64]) {
        guard words.count >= 2, let width = Int(exactly: words[0]), width >= 16, width <= 1 << 32,
              width & (width - 1) == 0, let additions = Int(exactly: words[1]), additions < 10 * width,
              words.count == 2 + width * Self.depth / 8 + width / 8
        else { return nil }
        var counters = [UInt8](repeating: 0, count: width * Self.depth)
        for (n, w) in words[2..<(2 + width * Self.depth / 8)].enumerated() {
            for j in 0..<8 {
                let c = UInt8(truncatingIfNeeded: w >> UInt64(8 * j))
                guard c <= 15 else { return nil }
                counters[n * 8 + j] = c
            }
        }
        self.width = width
        self.additions = additions
        self.counters = counters
        doorkeeper = Array(words[(2 + width * Self.depth / 8)...])
    }

    private mutating func age() {
        for i in counters.indices { counters[i] >>= 1 }
        for i in doorkeeper.indices { doorkeeper[i] = 0 }
        additions /= 2
    }
}
