/// Least frequently used, in O(1): objects sit in per-frequency buckets kept in ascending order.
///
/// The frequency starts at 1 on insertion and grows by 1 per hit; it is forgotten on eviction.
/// Eviction takes the lowest frequency and, within it, the object that reached that frequency
/// earliest (each bucket is a queue: arrivals join its tail, victims leave from its head).
public struct LFUPolicy: PersistablePolicy, SimulatedPolicy, Sendable {
    /// "lfu".
    public static let name = "lfu"

    // Per slot.
    private var frequency: [UInt32] = []
    private var bucketOf: [UInt32] = []
    private var prev: [UInt32] = []
    private var next: [UInt32] = []
    // Per bucket (a pool; buckets are reused).
    private var bucketFrequency: [UInt32] = []
    private var bucketHead: [UInt32] = []
    private var bucketTail: [UInt32] = []
    private var bucketPrev: [UInt32] = []
    private var bucketNext: [UInt32] = []
    private var freeBuckets: [UInt32] = []
    private var lowest: UInt32 = noSlot
    private var highest: UInt32 = noSlot

    /// The capacity plays no part: the owner decides how many evictions are needed.
    public init(capacity: Int) {}

    /// Frequency, bucket and two links per slot (the buckets themselves are few and shared).
    public var metadataBytesPerObject: Int { 16 }

    /// The frequency of a tracked object.
    public func frequency(of slot: UInt32) -> UInt32 { frequency[Int(slot)] }

    private mutating func newBucket(_ f: UInt32, after: UInt32) -> UInt32 {
        let b: UInt32
        if let r = freeBuckets.popLast() {
            b = r
        } else {
            b = UInt32(bucketFrequency.count)
            bucketFrequency.append(0); bucketHead.append(noSlot); bucketTail.append(noSlot)
            bucketPrev.append(noSlot); bucketNext.append(noSlot)
        }
        let i = Int(b)
        bucketFrequency[i] = f
        bucketHead[i] = noSlot
        bucketTail[i] = noSlot
        bucketPrev[i] = after
        let n = after == noSlot ? lowest : bucketNext[Int(after)]
        bucketNext[i] = n
        if after != noSlot { bucketNext[Int(after)] = b } else { lowest = b }
        if n != noSlot { bucketPrev[Int(n)] = b } else { highest = b }
        return b
    }

    private mutating func dropBucket(_ b: UInt32) {
        let p = bucketPrev[Int(b)], n = bucketNext[Int(b)]
        if p != noSlot { bucketNext[Int(p)] = n } else { lowest = n }
        if n != noSlot { bucketPrev[Int(n)] = p } else { highest = p }
        freeBuckets.append(b)
    }

    private mutating func append(_ slot: UInt32, to b: UInt32) {
        let s = Int(slot)
        bucketOf[s] = b
        next[s] = noSlot
        let t = bucketTail[Int(b)]
        prev[s] = t
        if t != noSlot { next[Int(t)] = slot } else { bucketHead[Int(b)] = slot }
        bucketTail[Int(b)] = slot
    }

    /// Unlinks `slot` from its bucket, dropping the bucket when it empties; returns whether it was dropped.
    @discardableResult
    private mutating func unlink(_ slot: UInt32) -> Bool {
        let s = Int(slot)
        let b = bucketOf[s]
        let p = prev[s], n = next[s]
        if p != noSlot { next[Int(p)] = n } else { bucketHead[Int(b)] = n }
        if n != noSlot { prev[Int(n)] = p } else { bucketTail[Int(b)] = p }
        if bucketHead[Int(b)] == noSlot {
            dropBucket(b)
            return true
        }
        return false
    }

    private mutating func grow(_ slot: UInt32) {
        frequency.ensureIndex(slot, filler: 0)
        bucketOf.ensureIndex(slot, filler: noSlot)
        prev.ensureIndex(slot, filler: noSlot)
        next.ensureIndex(slot, filler: noSlot)
    }

    /// Puts `slot` at the tail of the bucket for `f`, searching from the highest bucket down
    /// (immediate for frequency 1 via the lowest bucket, and for restores in ascending order).
    private mutating func place(_ slot: UInt32, frequency f: UInt32) {
        grow(slot)
        frequency[Int(slot)] = f
        if lowest != noSlot && bucketFrequency[Int(lowest)] >= f {
            let b = bucketFrequency[Int(lowest)] == f ? lowest : newBucket(f, after: noSlot)
            append(slot, to: b)
            return
        }
        var b = highest
        while b != noSlot && bucketFrequency[Int(b)] > f { b = bucketPrev[Int(b)] }
        if b == noSlot || bucketFrequency[Int(b)] != f { b = newBucket(f, after: b) }
        append(slot, to: b)
    }

    public mutating func insert(_ slot: UInt32, key: UInt64, size: Int, expiresAt: Int64) {
        place(slot, frequency: 1)
    }

    public mutating func access(_ slot: UInt32) {
        let s = Int(slot)
        let f = frequency[s]
        if f == .max { return }
        let b = bucketOf[s]
        let n = bucketNext[Int(b)]
        var target = n
        if n == noSlot || bucketFrequency[Int(n)] != f + 1 { target = newBucket(f + 1, after: b) }
        unlink(slot)
        frequency[s] = f + 1
        append(slot, to: target)
    }

    public mutating func remove(_ slot: UInt32) { unlink(slot) }

    /// The object ``evict()`` would take, left in place (LeCaR's LFU expert proposes it).
    public var candidate: UInt32? { lowest == noSlot ? nil : bucketHead[Int(lowest)] }

    public mutating func evict() -> UInt32? {
        if lowest == noSlot { return nil }
        let victim = bucketHead[Int(lowest)]
        unlink(victim)
        return victim
    }

    /// Lowest frequency first, earliest arrival first within it; the value is the frequency.
    public func persistentState() -> [(slot: UInt32, value: UInt32)] {
        var out: [(slot: UInt32, value: UInt32)] = []
        var b = lowest
        while b != noSlot {
            var s = bucketHead[Int(b)]
            while s != noSlot {
                out.append((s, frequency[Int(s)]))
                s = next[Int(s)]
            }
            b = bucketNext[Int(b)]
        }
        return out
    }

    /// Joins the tail of its frequency's bucket, so the saved order within a bucket is kept.
    public mutating func restore(_ slot: UInt32, key: UInt64, size: Int, expiresAt: Int64, value: UInt32) {
        place(slot, frequency: max(value, 1))
    }
}
