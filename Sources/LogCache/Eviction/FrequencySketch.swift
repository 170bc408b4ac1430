/// A popularity estimate for keys: a count-min sketch of 4 rows of 8-bit counters with
/// conservative update (an occurrence raises only the counters at the key's minimum), as
/// W-TinyLFU's admission filter.
///
/// It forgets only when told to (``halve()``): W-TinyLFU halves it on libCacheSim's schedule,
/// which on most traces means never, so the counts are the keys' lifetime counts, as
/// libCacheSim's (a counting Bloom filter so large that it rarely errs). Counters saturate at
/// 255, which only ties keys both that popular. The width grows by doubling as more objects
/// are cached, to 32 counters per object per row (128 bytes per object: fewer let the keys a
/// trace requests once, which are not cached, inflate each other's counts; 16 put W-TinyLFU
/// 1.6% off libCacheSim on the CloudPhysics trace, 32 within 0.2%), and growing keeps every
/// count: a key's counter in a row of width 2w is at index h mod 2w, which is h mod w or that
/// plus w, so the old counter is copied to both and stays an upper bound.
public struct FrequencySketch: Sendable {
    private var counters: [UInt8]
    private var width: Int
    private static let depth = 4
    /// Counters per row for each cached object.
    static let countersPerObject = 32
    /// The widest a sketch grows: 2^26 counters a row, 256 MiB in all (2 million objects).
    static let maxWidth = 1 << 26

    /// A sketch for about `objects` distinct cached keys.
    public init(objects: Int = 2) {
        width = 16
        let wanted = Self.wantedWidth(objects)
        while width < wanted { width *= 2 }
        counters = Array(repeating: 0, count: width * Self.depth)
    }

    /// ``countersPerObject`` for each of `objects`, at most ``maxWidth``.
    private static func wantedWidth(_ objects: Int) -> Int {
        let (product, overflow) = objects.multipliedReportingOverflow(by: countersPerObject)
        return overflow ? maxWidth : min(product, maxWidth)
    }

    /// Counter bytes per object when the sketch is as wide as the cached objects make it.
    public var bytesPerObject: Double { Double(Self.depth * Self.countersPerObject * MemoryLayout<UInt8>.size) }

    /// Widens the sketch, keeping every count, until it has 32 counters a
    /// row for each of `objects`.
    public mutating func ensureCapacity(objects: Int) {
        let wanted = Self.wantedWidth(objects)
        guard wanted > width else { return }
        var newWidth = width
        while newWidth < wanted { newWidth *= 2 }
        var wider = [UInt8](repeating: 0, count: newWidth * Self.depth)
        for row in 0..<Self.depth {
            for i in 0..<newWidth { wider[row * newWidth + i] = counters[row * width + (i & (width - 1))] }
        }
        counters = wider
        width = newWidth
    }

    /// `key`'s counter in each of the ``depth`` (4) rows, each row hashing with its own seed.
    @inline(__always)
    private func indices(_ key: UInt64) -> (Int, Int, Int, Int) {
        let mask = UInt64(width - 1)
        return (Int(mix64(key &+ 0x9E37_79B9_7F4A_7C15) & mask),
                width + Int(mix64(key &+ 0xC2B2_AE3D_27D4_EB4F) & mask),
                2 * width + Int(mix64(key &+ 0x1656_67B1_9E37_79F9) & mask),
                3 * width + Int(mix64(key &+ 0x27D4_EB2F_1656_67C5) & mask))
    }

    @inline(__always)
    private func minimum(_ i: (Int, Int, Int, Int)) -> UInt8 {
        min(min(counters[i.0], counters[i.1]), min(counters[i.2], counters[i.3]))
    }

    /// Records one occurrence of `key`: the key's counters that hold its minimum go up by
    /// one (each row's index computed once for both steps).
    public mutating func increment(_ key: UInt64) {
        let i = indices(key)
        let m = minimum(i)
        guard m < UInt8.max else { return }
        if counters[i.0] == m { counters[i.0] = m + 1 }
        if counters[i.1] == m { counters[i.1] = m + 1 }
        if counters[i.2] == m { counters[i.2] = m + 1 }
        if counters[i.3] == m { counters[i.3] = m + 1 }
    }

    /// The estimated number of occurrences of `key` (never below the true count since the
    /// last halving; saturating at 255).
    public func estimate(_ key: UInt64) -> Int { Int(minimum(indices(key))) }

    /// Halves every count, so that old popularity fades.
    public mutating func halve() {
        for i in counters.indices { counters[i] >>= 1 }
    }

    /// The whole sketch as words: the width, then the counters four to a word
    /// (little-endian bytes, row after row).
    public var words: [UInt64] {
        var out: [UInt64] = [UInt64(width)]
        out.reserveCapacity(1 + counters.count / 8)
        for i in stride(from: 0, to: counters.count, by: 8) {
            var w: UInt64 = 0
            for j in 0..<8 { w |= UInt64(counters[i + j]) << UInt64(8 * j) }
            out.append(w)
        }
        return out
    }

    /// The sketch ``words`` describe; nil when they are not a whole sketch of this layout
    /// (a width that is not a power of two from 16 to 2^26, or the wrong count).
    public init?(words: [UInt64]) {
        guard let first = words.first, let width = Int(exactly: first), width >= 16, width <= Self.maxWidth,
              width & (width - 1) == 0, words.count == 1 + width * Self.depth / 8
        else { return nil }
        var counters = [UInt8](repeating: 0, count: width * Self.depth)
        for (n, w) in words.dropFirst().enumerated() {
            for j in 0..<8 { counters[n * 8 + j] = UInt8(truncatingIfNeeded: w >> UInt64(8 * j)) }
        }
        self.width = width
        self.counters = counters
    }
}
