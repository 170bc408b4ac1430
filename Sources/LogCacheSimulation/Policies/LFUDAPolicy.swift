import LogCache

/// LFU with dynamic aging, as libCacheSim's LFUDA: objects sit in frequency buckets, each a
/// FIFO; the victim is the oldest object of the lowest bucket, and the age L is the
/// frequency of the last victim's bucket. A new object enters at L + 1; a hit adds L to the
/// object's frequency (so nothing counts before the first eviction, and an object's count
/// weighs more the later it is earned). After a bucket empties, the lowest is the least
/// frequency above it, up to the highest a hit has made (libCacheSim's own bounds, kept so
/// that the victims are the same).
public struct LFUDAPolicy: SimulatedPolicy, Sendable {
    /// "lfuda".
    public static let name = "lfuda"

    private var frequency: [Int64] = []
    private var prev: [UInt32] = []
    private var next: [UInt32] = []
    /// Bucket of each frequency that has had objects, and the buckets' lists.
    private var bucketOf: [Int64: Int] = [:]
    private var bucketFrequency: [Int64] = []
    private var first: [UInt32] = []
    private var last: [UInt32] = []
    private var members: [Int] = []
    private var queued: [Bool] = []
    /// Frequencies of non-empty buckets (with stale entries, skipped when met).
    private var nonEmpty = MinHeap()
    private var minFrequency: Int64 = 0
    private var maxFrequency: Int64 = 0

    /// The capacity plays no part: the owner decides how many evictions are needed.
    public init(capacity: Int) {
        _ = bucket(for: 1)
    }

    public var metadataBytesPerObject: Int { 16 }

    public mutating func insert(_ slot: UInt32, key: UInt64, size: Int, expiresAt: Int64) {
        frequency.ensureIndex(slot, filler: 0)
        prev.ensureIndex(slot, filler: noSlot)
        next.ensureIndex(slot, filler: noSlot)
        let f = minFrequency + 1
        frequency[Int(slot)] = f
        append(slot, to: bucket(for: f))
    }

    public mutating func access(_ slot: UInt32) {
        let old = frequency[Int(slot)]
        let f = old &+ minFrequency
        frequency[Int(slot)] = f
        if f > maxFrequency { maxFrequency = f }
        guard let b = bucketOf[old] else { return }
        unlink(slot, from: b)
        if minFrequency == old && members[b] == 0 { raiseMinimum() }
        append(slot, to: bucket(for: f))
    }

    public mutating func remove(_ slot: UInt32) {
        guard let b = bucketOf[frequency[Int(slot)]] else { return }
        unlink(slot, from: b)
        if bucketFrequency[b] == minFrequency && members[b] == 0 { raiseMinimum() }
    }

    public mutating func evict() -> UInt32? {
        let b = minFrequency <= 1 ? 0 : (bucketOf[minFrequency] ?? -1)
        guard b >= 0, first[b] != noSlot else { return nil }
        let victim = first[b]
        minFrequency = bucketFrequency[b]
        unlink(victim, from: b)
        if members[b] == 0 { raiseMinimum() }
        return victim
    }

    /// The least frequency above the current lowest whose bucket holds objects, if it is
    /// no higher than the highest frequency a hit has made.
    private mutating func raiseMinimum() {
        while let f = nonEmpty.minimum, let b = bucketOf[f] {
            if members[b] > 0 && f > minFrequency {
                if f <= maxFrequency { minFrequency = f }
                return
            }
            // Empty, or at or below the lowest (which no scan upward would look at again).
            nonEmpty.popMinimum()
            queued[b] = false
        }
    }

    private mutating func bucket(for f: Int64) -> Int {
        if let b = bucketOf[f] { return b }
        let b = bucketFrequency.count
        bucketOf[f] = b
        bucketFrequency.append(f)
        first.append(noSlot)
        last.append(noSlot)
        members.append(0)
        queued.append(false)
        return b
    }

    private mutating func append(_ slot: UInt32, to b: Int) {
        let s = Int(slot)
        prev[s] = last[b]
        next[s] = noSlot
        if last[b] != noSlot { next[Int(last[b])] = slot } else { first[b] = slot }
        last[b] = slot
        members[b] += 1
        if !queued[b] {
            queued[b] = true
            nonEmpty.push(bucketFrequency[b])
        }
    }

    private mutating func unlink(_ slot: UInt32, from b: Int) {
        let s = Int(slot)
        let p = prev[s], n = next[s]
        if p != noSlot { next[Int(p)] = n } else { first[b] = n }
        if n != noSlot { prev[Int(n)] = p } else { last[b] = p }
        prev[s] = noSlot
        next[s] = noSlot
        members[b] -= 1
    }
}

/// A binary min-heap of 64-bit integers.
struct MinHeap: Sendable {
    private var items: [Int64] = []

    var minimum: Int64? { items.first }

    mutating func push(_ x: Int64) {
        items.append(x)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard items[i] < items[parent] else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    @discardableResult
    mutating func popMinimum() -> Int64? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < items.count && items[l] < items[m] { m = l }
                if r < items.count && items[r] < items[m] { m = r }
                if m == i { break }
                items.swapAt(i, m)
                i = m
            }
        }
        return top
    }
}
