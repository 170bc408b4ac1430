import LogCache

/// LFU with dynamic aging, as libCacheSim's LFUDA: objects sit in frequency buckets, each a
/// FIFO; the victim is the oldest object of the lowest bucket, and the age L is the
/// frequency of the last victim's bucket. A new object enters at L + 1; a hit adds L to the
/// object's frequency (so nothing counts before the first eviction, and an object's count
/// weighs more the later it is earned). When the lowest bucket empties, L becomes the least
/// frequency above it, if no higher than the highest a hit has made (libCacheSim's bounds,
/// kept so that the victims are the same).
///
/// The buckets are one heap of objects keyed by (frequency, time of entering the bucket):
/// no object is ever below L, so the heap's minimum is the lowest bucket's oldest object,
/// and the lowest bucket is empty exactly when the minimum's frequency is above L.
public struct LFUDAPolicy: SimulatedPolicy, Sendable {
    /// "lfuda".
    public static let name = "lfuda"

    private var heap = SlotHeap()
    private var minFrequency: Int64 = 0
    private var maxFrequency: Int64 = 0
    /// Order of entering a bucket (FIFO within one).
    private var sequence: UInt64 = 0

    /// The capacity plays no part: the owner decides how many evictions are needed.
    public init(capacity: Int) {}

    public var metadataBytesPerObject: Int { SlotHeap.bytesPerSlot }

    public mutating func insert(_ slot: UInt32, key: UInt64, size: Int, expiresAt: Int64) {
        sequence += 1
        heap.push(slot, priority: minFrequency &+ 1, order: sequence)
    }

    public mutating func access(_ slot: UInt32) {
        let old = heap.priority(of: slot)
        // Wraps where libCacheSim's 64-bit counter would.
        let f = old &+ minFrequency
        if f > maxFrequency { maxFrequency = f }
        heap.remove(slot)
        if old == minFrequency { raiseMinimumIfEmpty() }
        sequence += 1
        heap.push(slot, priority: f, order: sequence)
    }

    public mutating func remove(_ slot: UInt32) {
        let f = heap.priority(of: slot)
        heap.remove(slot)
        if f == minFrequency { raiseMinimumIfEmpty() }
    }

    public mutating func evict() -> UInt32? {
        guard let victim = heap.minimum else { return nil }
        minFrequency = heap.priority(of: victim)
        heap.remove(victim)
        raiseMinimumIfEmpty()
        return victim
    }

    /// When no object is left at L: L becomes the least frequency held, if a hit has made one
    /// that high.
    private mutating func raiseMinimumIfEmpty() {
        guard let m = heap.minimum else { return }
        let f = heap.priority(of: m)
        if f > minFrequency && f <= maxFrequency { minFrequency = f }
    }
}
