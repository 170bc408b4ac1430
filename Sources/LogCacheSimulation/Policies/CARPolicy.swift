import LogCache

/// CAR, Clock with Adaptive Replacement (Bansal and Modha, FAST 2004): ARC's adaptation with
/// two clocks instead of two LRU lists, so that a hit only sets a reference bit.
/// - T1 holds objects seen once recently, T2 those seen at least twice; B1 and B2 remember
///   the keys T1 and T2 evicted. The target p is T1's share of the capacity.
/// - To make room, T1's clock hand runs while T1 holds at least max(1, p) units, else T2's:
///   a referenced object has its bit cleared (moving from T1 to T2's tail, or round T2);
///   the first unreferenced one leaves, its key going to B1 or B2.
/// - A miss on a key of B1 raises p by max(1, |B2| / |B1|), on one of B2 lowers it by
///   max(1, |B1| / |B2|) (within 0 … c); either way the object enters T2. Any other miss
///   enters T1, and if the cache was full one ghost is forgotten: B1's oldest when T1 and B1
///   together hold c units, else B2's oldest when all four hold 2c.
///
/// Sizes are in the cache's unit, as in this simulator's ARC. libCacheSim (aa0fc40) has no
/// CAR, so this follows the paper and has no reference counts to agree with.
public struct CARPolicy: SimulatedPolicy, Sendable {
    /// "car".
    public static let name = "car"

    private let capacity: Int
    private var t1 = SlotList()
    private var t2 = SlotList()
    private var t1Bytes = 0
    private var t2Bytes = 0
    private var b1 = GhostList()
    private var b2 = GhostList()
    private var referenced: [Bool] = []
    private var inT2: [Bool] = []
    private var sizes: [Int] = []
    private var keys: [UInt64] = []
    /// T1's target share, in units.
    private var target = 0
    /// What the last miss found: 0 no ghost, 1 a ghost of B1, 2 of B2, with the ghost lists'
    /// sizes then (the key still counted).
    private var ghostHit = 0
    private var b1AtMiss = 0
    private var b2AtMiss = 0
    /// Whether room was made since the last miss (the cache was full).
    private var madeRoom = false

    /// An empty CAR cache of `capacity` units.
    public init(capacity: Int) { self.capacity = capacity }

    public var metadataBytesPerObject: Int { 2 * SlotList.bytesPerSlot + 18 }

    public func prefetch(key: UInt64) {
        b1.prefetch(key)
        b2.prefetch(key)
    }

    public mutating func willMiss(key: UInt64, size: Int) {
        b1AtMiss = b1.bytes
        b2AtMiss = b2.bytes
        madeRoom = false
        if b1.remove(key) != nil {
            ghostHit = 1
        } else if b2.remove(key) != nil {
            ghostHit = 2
        } else {
            ghostHit = 0
        }
    }

    public mutating func insert(_ slot: UInt32, key: UInt64, size: Int, expiresAt: Int64) {
        let s = Int(slot)
        referenced.ensureIndex(slot, filler: false)
        inT2.ensureIndex(slot, filler: false)
        sizes.ensureIndex(slot, filler: 0)
        keys.ensureIndex(slot, filler: 0)
        referenced[s] = false
        sizes[s] = size
        keys[s] = key
        switch ghostHit {
        case 1:
            target = min(target + max(1, b2AtMiss / max(1, b1AtMiss)), capacity)
            inT2[s] = true
            t2.pushHead(slot)
            t2Bytes += size
        case 2:
            target = max(target - max(1, b1AtMiss / max(1, b2AtMiss)), 0)
            inT2[s] = true
            t2.pushHead(slot)
            t2Bytes += size
        default:
            if madeRoom {
                if t1Bytes + b1.bytes >= capacity {
                    _ = b1.dropOldest()
                } else if t1Bytes + t2Bytes + b1.bytes + b2.bytes >= 2 * capacity {
                    _ = b2.dropOldest()
                }
            }
            // With sizes, one ghost may not be enough to keep the paper's bounds (T1 and B1
            // within c, all four within 2c); with every size 1 these never run.
            while t1Bytes + b1.bytes > capacity, b1.dropOldest() != nil {}
            while t1Bytes + t2Bytes + b1.bytes + b2.bytes > 2 * capacity, b2.dropOldest() != nil {}
            inT2[s] = false
            t1.pushHead(slot)
            t1Bytes += size
        }
        ghostHit = 0
    }

    public mutating func access(_ slot: UInt32) { referenced[Int(slot)] = true }

    public mutating func remove(_ slot: UInt32) {
        let s = Int(slot)
        if inT2[s] {
            t2.remove(slot)
            t2Bytes -= sizes[s]
        } else {
            t1.remove(slot)
            t1Bytes -= sizes[s]
        }
    }

    public mutating func evict() -> UInt32? {
        madeRoom = true
        // Every pass clears a reference bit or evicts, so this ends within |T1| + 2|T2| steps.
        while t1.tail != noSlot || t2.tail != noSlot {
            if t1.tail != noSlot && (t1Bytes >= max(1, target) || t2.tail == noSlot) {
                let h = t1.tail
                let s = Int(h)
                t1.remove(h)
                t1Bytes -= sizes[s]
                if !referenced[s] {
                    b1.push(keys[s], size: sizes[s])
                    return h
                }
                referenced[s] = false
                inT2[s] = true
                t2.pushHead(h)
                t2Bytes += sizes[s]
            } else {
                let h = t2.tail
                let s = Int(h)
                if !referenced[s] {
                    t2.remove(h)
                    t2Bytes -= sizes[s]
                    b2.push(keys[s], size: sizes[s])
                    return h
                }
                referenced[s] = false
                t2.moveToHead(h)
            }
        }
        return nil
    }
}
